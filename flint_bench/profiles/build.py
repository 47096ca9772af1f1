"""Device profiles: result records aggregated per (device model, OS, OS version, ML model).

Pure functions (records in, DataFrame out) plus Parquet read/write. The per-example training-time
distribution is kept as a 101-point quantile sketch (q0..q100) so the simulator can sample it by
inverse CDF without carrying every raw sample.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..core.errors import UserError

if TYPE_CHECKING:
    import pandas as pd

QUANTILE_POINTS = 101
MB = 1e6

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
    "storage_bytes",
    "update_bytes",
    "network_bytes",
    "trainable_params",
    "device_memory_mb",
    "cores",
]


def per_example_samples(record: dict) -> np.ndarray:
    """Per-example training seconds of one record: each step's seconds / its examples, every repeat."""
    t = record["timing"]
    secs = np.asarray([x for rep in t["step_seconds"] for x in rep], dtype=float)
    ex = np.asarray([x for rep in t["step_examples"] for x in rep], dtype=float)
    if secs.size != ex.size:
        raise UserError(
            f"{record.get('extra', {}).get('path', 'a result record')}: timing.step_seconds and "
            f"timing.step_examples differ in length ({secs.size} vs {ex.size})."
        )
    keep = ex > 0
    return secs[keep] / ex[keep]


def profile_device_model(device: dict) -> str:
    """The device model a profile row is keyed by. The local farm's emulated device classes all
    report the host name as model, so the class is appended to keep them apart."""
    model = str(device.get("model") or "unknown")
    if device.get("device_class"):
        return f"{model} ({device['device_class']})"
    return model


def build_profiles(records: list[dict]) -> pd.DataFrame:
    """One row per (device model, OS, OS version, ML model) over the ok records.

    Samples of several devices of the same model are pooled (they are the same hardware); memory
    and CPU take the worst device so a budget check is a worst-case check. Groups whose every
    record failed have no timing and are left out (their count is in `n_failed` of no row, so
    callers that care about failures read the records).
    """
    import pandas as pd

    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in records:
        d = r["device"]
        key = (profile_device_model(d), str(d.get("os") or "unknown"), str(d.get("os_version") or ""), r["model"]["name"])
        groups[key].append(r)
    rows = []
    qs = np.linspace(0.0, 1.0, QUANTILE_POINTS)
    for (device_model, os_name, os_version, model), rs in sorted(groups.items()):
        ok = [r for r in rs if r["status"] == "ok"]
        samples = np.concatenate([per_example_samples(r) for r in ok]) if ok else np.empty(0)
        if samples.size == 0:
            continue
        d, m = ok[0]["device"], ok[0]["model"]
        deltas = [r["memory"]["peak_delta_mb"] for r in ok if r["memory"].get("peak_delta_mb") is not None]
        peaks = [r["memory"]["peak_mb"] for r in ok if r["memory"].get("peak_mb") is not None]
        cpu_mean = [r["cpu"]["mean_percent"] for r in ok if r["cpu"].get("mean_percent") is not None]
        cpu_max = [r["cpu"]["max_percent"] for r in ok if r["cpu"].get("max_percent") is not None]
        net = [r["network"]["total_bytes"] for r in ok if r["network"].get("total_bytes") is not None]
        rows.append(
            {
                "device_model": device_model,
                "os": os_name,
                "os_version": os_version,
                "model": model,
                "task": m.get("task"),
                "manufacturer": d.get("manufacturer"),
                "soc": d.get("soc"),
                "device_class": d.get("device_class"),
                "farms": ",".join(sorted({str(r["device"].get("farm")) for r in ok})),
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
                # Memory the training adds (as Table 5 reports), worst device; the whole process peak too.
                "peak_memory_mb": float(max(deltas)) if deltas else None,
                "peak_process_memory_mb": float(max(peaks)) if peaks else None,
                "cpu_mean_percent": float(max(cpu_mean)) if cpu_mean else None,
                "cpu_max_percent": float(max(cpu_max)) if cpu_max else None,
                "storage_bytes": m.get("storage_bytes"),
                "update_bytes": m.get("update_bytes"),
                "network_bytes": int(max(net)) if net else None,
                "trainable_params": m.get("trainable_params"),
                "device_memory_mb": d.get("memory_mb"),
                "cores": d.get("cores"),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def sample_per_example_seconds(quantiles, rng: np.random.Generator, size) -> np.ndarray:
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
    import os

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)
    return path


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
    required = ["device_model", "os", "os_version", "model", "per_example_s_quantiles", "peak_memory_mb", "storage_bytes"]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise UserError(
            f"{path}: column(s) {missing} missing; expected a device-profile table with columns {required} "
            "(written by `flint-bench profiles build`)."
        )
    return frame
