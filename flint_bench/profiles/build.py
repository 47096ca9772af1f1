"""Device profiles: result records aggregated per (device model, OS, OS version, ML model).

Pure functions (records in, DataFrame out), plus the I/O around them: a results folder in
(`profiles_from_results`), Parquet out and back (`write_profiles`, `read_profiles`, the one reader
of profile files). The per-example training-time distribution is kept as a 101-point quantile
sketch (q0..q100) so the simulator can sample it by inverse CDF without carrying every raw sample.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from ..core.errors import UserError
from ..core.fileio import write_atomic
from ..core.records import (
    DeviceSection,
    Record,
    RecordError,
    cpu_device_percent,
    per_example_samples,
    record_source,
    spread_s_per_5000,
    task_network_bytes,
    training_memory_mb,
)
from ..core.results import load_records
from ..core.stats import finite
from ..coverage.names import PHONE_PLATFORMS, normalise_platform

if TYPE_CHECKING:
    import pandas as pd

QUANTILE_POINTS = 101

# Columns other engineers rely on (the simulator and the report): keep these names.
COLUMNS = [
    "device_model",
    "os",
    "os_version",
    "model",
    "task",
    "manufacturer",
    "soc",
    "device_class",
    "platform",
    "device_tier",
    "farms",
    "n_devices",
    "n_records",
    "n_failed",
    "n_samples",
    "per_example_s_quantiles",
    "per_example_s_mean",
    "per_example_s_std",
    "per_example_s_p50",
    "per_example_s_p90",
    "per_example_s_p99",
    "per_example_s_max",
    "peak_memory_mb",
    "peak_process_memory_mb",
    "cpu_mean_percent",
    "cpu_max_percent",
    "cpu_device_percent",
    "s_per_5000_mean",
    "s_per_5000_std_repeats",
    "s_per_5000_std_devices",
    "storage_bytes",
    "update_bytes",
    "network_bytes",
    "program_bytes",
    "trainable_params",
    "device_memory_mb",
    "cores",
]
# What `read_profiles` insists on: the columns the budgets check and the simulator read.
REQUIRED_COLUMNS = ["device_model", "os", "os_version", "model", "per_example_s_quantiles", "peak_memory_mb", "storage_bytes"]


def profile_device_model(device: DeviceSection) -> str:
    """The device model a profile row is keyed by. The local farm's emulated device classes all
    report the host name as model, so the class is appended to keep them apart."""
    model = str(device["model"] or "unknown")
    device_class = device.get("device_class")
    return f"{model} ({device_class})" if device_class else model


# Columns added after the first profile files were written: an older file reads them as missing (None).
LATER_COLUMNS = [
    "platform",
    "device_tier",
    "cpu_device_percent",
    "s_per_5000_mean",
    "s_per_5000_std_repeats",
    "s_per_5000_std_devices",
    "program_bytes",
]


def profile_platform(device: DeviceSection) -> str | None:
    """The platform a device is or stands for: the record's `platform` (a local farm class's), else its
    OS when that is a phone OS, else None (a host OS is no user's platform)."""
    return normalise_platform(device.get("platform")) or (
        os_name if (os_name := normalise_platform(device["os"])) in PHONE_PLATFORMS else None
    )


def _worst(values: list[float | None]) -> float | None:
    """The worst device's figure; NaN (unknown to the budgets) when a device's is not finite."""
    known = [v for v in values if v is not None]
    if any(finite(v) is None for v in known):
        return math.nan
    return float(max(known)) if known else None


# integer figures a profile stores (Parquet int64)
_INT_FIELDS = [("model", "storage_bytes"), ("model", "update_bytes"), ("model", "trainable_params")]
_INT_FIELDS += [("network", "total_bytes"), ("device", "cores"), ("device", "memory_mb")]


def _samples(record: Record) -> list[float]:
    """The record's per-example times, after checking what a profile stores. NaN, infinity or a
    negative time is a RecordError: such a device result is invalid, and one such sample would
    spoil every quantile of its profile. So is an integer beyond 64 bits (no Parquet column holds it)."""
    for section, key in _INT_FIELDS:
        value = record[section].get(key)  # type: ignore[literal-required]
        if isinstance(value, int) and not -(2**63) <= value < 2**63:
            raise RecordError(
                f"{record_source(record)}: {section}.{key} is out of range (beyond 64 bits): the result is invalid. "
                "Re-run that benchmark or remove the file."
            )
    samples = per_example_samples(record)
    if any(finite(x) is None or x < 0 for x in samples):
        raise RecordError(
            f"{record_source(record)}: timing.step_seconds holds a time that is not a finite, non-negative number "
            "(NaN, infinity or negative): the device result is invalid. Re-run that benchmark or remove the file."
        )
    return samples


def build_profiles(records: list[Record]) -> pd.DataFrame:
    """One row per (device model, OS, OS version, ML model) over the ok records.

    Samples of several devices of the same model are pooled (they are the same hardware); memory
    and CPU take the worst device so a budget check is a worst-case check. `peak_memory_mb` is the
    memory the training adds, by the budgets' rule (`records.training_memory_mb`). Groups whose
    every record failed have no timing and are left out (their count is in `n_failed` of no row,
    so callers that care about failures read the records). A record whose timing lists disagree,
    or hold a time that is not a finite, non-negative number, raises RecordError.
    """
    import pandas as pd

    groups: dict[tuple[str, str, str, str], list[Record]] = defaultdict(list)
    for r in records:
        d = r["device"]
        groups[(profile_device_model(d), str(d["os"] or "unknown"), str(d["os_version"] or ""), r["model"]["name"])].append(r)
    rows = []
    qs = np.linspace(0.0, 1.0, QUANTILE_POINTS)
    for (device_model, os_name, os_version, model), rs in sorted(groups.items()):
        ok = [r for r in rs if r["status"] == "ok"]
        samples = np.asarray([x for r in ok for x in _samples(r)], dtype=float)
        if samples.size == 0:
            continue
        d, m = ok[0]["device"], ok[0]["model"]
        net = [n for r in ok if (n := task_network_bytes(r)) is not None]
        mean_5000, std_repeats, std_devices = spread_s_per_5000(ok)
        rows.append(
            {
                "device_model": device_model,
                "os": os_name,
                "os_version": os_version,
                "model": model,
                "task": m["task"],
                "manufacturer": d["manufacturer"],
                "soc": d["soc"],
                "device_class": d.get("device_class"),
                "platform": profile_platform(d),
                "device_tier": d.get("tier"),
                "farms": ",".join(sorted({str(r["device"]["farm"]) for r in ok})),
                "n_devices": len({r["device"]["id"] for r in ok}),
                "n_records": len(rs),
                "n_failed": len(rs) - len(ok),
                "n_samples": int(samples.size),
                "per_example_s_quantiles": np.quantile(samples, qs).tolist(),
                "per_example_s_mean": float(samples.mean()),
                "per_example_s_std": float(samples.std(ddof=1)) if samples.size > 1 else 0.0,
                "per_example_s_p50": float(np.quantile(samples, 0.5)),
                "per_example_s_p90": float(np.quantile(samples, 0.9)),
                "per_example_s_p99": float(np.quantile(samples, 0.99)),
                "per_example_s_max": float(samples.max()),
                # worst device: the memory the training adds (budgets' rule), and the whole-process peak
                "peak_memory_mb": _worst([training_memory_mb(r) for r in ok]),
                "peak_process_memory_mb": _worst([r["memory"]["peak_mb"] for r in ok]),
                "cpu_mean_percent": _worst([r["cpu"]["mean_percent"] for r in ok]),
                "cpu_max_percent": _worst([r["cpu"]["max_percent"] for r in ok]),
                "cpu_device_percent": _worst([cpu_device_percent(r) for r in ok]),
                "s_per_5000_mean": mean_5000,
                "s_per_5000_std_repeats": std_repeats,
                "s_per_5000_std_devices": std_devices,
                "storage_bytes": m["storage_bytes"],
                "update_bytes": m["update_bytes"],
                "network_bytes": int(max(net)) if net else None,  # one FL task: 2 x M (schema 2 meaning)
                "program_bytes": m["storage_bytes"],  # the one-time download of the training program
                "trainable_params": m["trainable_params"],
                "device_memory_mb": d["memory_mb"],
                "cores": d["cores"],
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def profiles_from_results(folder: str | Path) -> tuple[pd.DataFrame, list[Record]]:
    """The profiles of a results folder, and its records. A folder without an ok record, or with
    a record whose timing lists disagree, is a user error."""
    records = load_records(folder)
    try:
        frame = build_profiles(records)
    except RecordError as e:
        raise UserError(str(e)) from None
    if frame.empty:
        failed = sum(r["status"] != "ok" for r in records)
        raise UserError(
            f"{folder}: no ok result record to profile ({len(records)} records, {failed} failed). "
            "Run `flint-bench run --out DIR` and pass that folder."
        )
    return frame, records


def sample_per_example_seconds(quantiles: ArrayLike, rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
    """Draw per-example training seconds from a quantile sketch by inverse CDF: u ~ U(0,1), then
    linear interpolation between the sketch's points (exact at q0..q100, never outside [q0, q100])."""
    q = np.asarray(quantiles, dtype=float)
    if q.ndim != 1 or q.size < 2 or not np.all(np.isfinite(q)):
        raise ValueError(f"quantiles must be a 1-D list of at least 2 finite values, got shape {q.shape}")
    if np.any(np.diff(q) < 0):
        raise ValueError("quantiles must be non-decreasing")
    u = rng.random(size)
    return np.interp(u, np.linspace(0.0, 1.0, q.size), q)


def write_profiles(frame: pd.DataFrame, path: str | Path) -> Path:
    return write_atomic(path, lambda f: frame.to_parquet(f, index=False))


def read_profiles(path: str | Path) -> pd.DataFrame:
    """A profiles Parquet; a missing file or one without the profile columns is a user error."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise UserError(
            f"{path}: profiles file not found. Build it with `flint-bench profiles build --results DIR --out {path}`."
        )
    try:
        frame = pd.read_parquet(path)
    except Exception as e:  # pyarrow raises several types for a non-Parquet file
        raise UserError(
            f"{path}: not a Parquet file ({type(e).__name__}: {e}). Pass the file `flint-bench profiles build` wrote."
        ) from None
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise UserError(
            f"{path}: column(s) {missing} missing; expected a device-profile table with columns {REQUIRED_COLUMNS} "
            "(written by `flint-bench profiles build`)."
        )
    for column in LATER_COLUMNS:
        if column not in frame.columns:
            frame[column] = None
    return frame
