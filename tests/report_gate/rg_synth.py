"""Synthetic result folders built from a REAL local-farm record: only the per-step samples vary."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
from flint_bench.results import load_records, save_record
from flint_bench.stats import summarize


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
    t["seconds_per_5000"] = {"mean": float(np.mean(per5000)), "std": float(np.std(per5000, ddof=1)) if len(per5000) > 1 else 0.0, "values": per5000}
    return r


def lognormal_samples(rng: np.random.Generator, median: float, cv: float, repeats: int = 3, steps: int = 20) -> list[list[float]]:
    sigma = float(np.sqrt(np.log(1 + cv ** 2)))
    return [list(median * rng.lognormal(0.0, sigma, steps)) for _ in range(repeats)]


def write_folder(folder: Path, records: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for r in records:
        save_record(folder, r)
    return folder


