"""Synthetic result folders built from a REAL local-farm record: only the per-step samples vary."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np

from flint_bench.core.fileio import write_json_atomic
from flint_bench.core.records import per_repeat_samples
from flint_bench.core.results import record_path, save_record
from flint_bench.core.stats import summarize


def with_samples(record: dict, samples_per_repeat: list[list[float]], batch: int = 32) -> dict:
    """`record` with new per-example step times (seconds per example per step) and consistent summaries."""
    r = copy.deepcopy(record)
    r.pop("extra", None)
    t = r["timing"]
    t["step_examples"] = [[batch] * len(rep) for rep in samples_per_repeat]
    t["step_seconds"] = [[s * batch for s in rep] for rep in samples_per_repeat]
    flat = [s for rep in samples_per_repeat for s in rep]
    t["per_example_seconds"] = summarize(flat)
    per5000 = [float(np.mean(rep)) * 5000 for rep in samples_per_repeat]
    t["seconds_per_5000"] = {
        "mean": float(np.mean(per5000)),
        "std": float(np.std(per5000, ddof=1)) if len(per5000) > 1 else 0.0,
        "values": per5000,
    }
    return r


def lognormal_samples(rng: np.random.Generator, median: float, cv: float, repeats: int = 3, steps: int = 20) -> list[list[float]]:
    sigma = float(np.sqrt(np.log(1 + cv**2)))
    return [list(median * rng.lognormal(0.0, sigma, steps)) for _ in range(repeats)]


def write_folder(folder: Path, records: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for r in records:
        save_record(folder, r)
    return folder


def device_variant(record: dict, device_id: str, slowdown: float, **device_fields) -> dict:
    """The real record as if measured on another device: same model, samples scaled by `slowdown`."""
    samples = [[s * slowdown for s in rep] for rep in per_repeat_samples(record)]
    r = with_samples(record, samples)
    r["device"] = {**record["device"], "id": device_id, **device_fields}
    r["memory"] = {**record["memory"], "peak_delta_mb": (record["memory"]["peak_delta_mb"] or 1.0) * slowdown}
    return r


def farm_like(records: list[dict], evil: str | None = None) -> list[dict]:
    """A small heterogeneous farm from real records: the real device, a slower phone, a failed run,
    and optionally a device whose name is `evil` (HTML/script that must stay text)."""
    out = []
    for r in records:
        out.append(r)
        out.append(
            device_variant(
                r, "pixel-4a", 3.0, manufacturer="Google", model="Pixel 4a", os="Android", os_version="13", abi="arm64-v8a"
            )
        )
        if evil:
            out.append(device_variant(r, evil, 1.5, model=evil))
    failed = copy.deepcopy(
        device_variant(records[-1], "galaxy-a10", 6.0, manufacturer="Samsung", model="Galaxy A10", os="Android", os_version="9")
    )
    failed["status"], failed["error"] = "failed", {"kind": "memory-limit", "message": "worker killed above 1536 MB"}
    out.append(failed)
    return out


ELIGIBILITY = {
    "devices": 1000,
    "criteria": [
        {"name": "on WiFi", "family": "device state", "share_alone": 0.70, "cumulative_share": 0.70},
        {"name": "battery >= 80%", "family": "device state", "share_alone": 0.34, "cumulative_share": 0.25},
        {"name": "OS released >= Sept 2019", "family": "compute capability", "share_alone": 0.93, "cumulative_share": 0.22},
    ],
    "all_of": ["on WiFi", "battery >= 80%", "OS released >= Sept 2019"],
    "all_criteria_share": 0.22,
    "subpopulations": [
        {
            "dimension": "device_class",
            "value": "low-end",
            "devices": 200,
            "all_criteria_share": 0.05,
            "criteria": [{"name": "OS released >= Sept 2019", "share_alone": 0.40}],
        }
    ],
    "fairness_warnings": [
        {
            "criterion": "OS released >= Sept 2019",
            "dimension": "device_class",
            "value": "low-end",
            "share": 0.40,
            "overall_share": 0.93,
            "ratio": 0.43,
            "message": "removes most low-end phones",
        }
    ],
}


def write_simulation(folder: Path, seed: int = 0) -> Path:
    """A simulate --out folder in the documented shape: summary.json + metrics.parquet (trial, virtual_time_s, metric)."""
    import json

    import pandas as pd

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for trial in range(3):
        for k in range(40):
            t = k * 900.0
            rows.append(
                {"trial": trial, "virtual_time_s": t, "metric": 0.3 + 0.4 * (1 - np.exp(-t / 8000)) + rng.normal(0, 0.01)}
            )
    pd.DataFrame(rows).to_parquet(folder / "metrics.parquet", index=False)
    summary = {
        "metric_name": "aupr",
        "trials": 3,
        "virtual_hours_to_target": {"median": 5.5, "min": 4.9, "max": 6.2},
        "tasks_started": {"median": 61000, "min": 60500, "max": 61800},
        "tasks_succeeded": {"median": 52000, "min": 51000, "max": 53000},
        "client_compute_hours": {"median": 310.0, "min": 300.0, "max": 322.0},
        "aggregator_updates_per_s": {"median": 3.53, "min": 3.4, "max": 3.7},
        "aggregator_mb_per_s": {"median": 2.67, "min": 2.5, "max": 2.8},
    }
    (folder / "summary.json").write_text(json.dumps(summary))
    return folder


def version_1(record: dict) -> dict:
    """`record` as flint-bench wrote it under schema version 1: no CPU device share, no per-task
    network, none of the later optional sections."""
    r = copy.deepcopy(record)
    r.pop("extra", None)
    r["schema_version"] = "1"
    for key in ("device_mean_percent", "device_max_percent", "cores"):
        r["cpu"].pop(key, None)
    for key in ("program_bytes", "task_download_bytes", "task_upload_bytes", "task_total_bytes"):
        r["network"].pop(key, None)
    for section in ("machine", "stability", "energy", "sustained"):
        r.pop(section, None)
    return r


def write_version_1(folder: Path, records: list[dict]) -> Path:
    """Version-1 files as an older flint-bench left them (written as is, not through save_record)."""
    folder.mkdir(parents=True, exist_ok=True)
    for r in records:
        old = version_1(r)
        write_json_atomic(record_path(folder, old["model"]["name"], old["device"]["id"]), old)
    return folder
