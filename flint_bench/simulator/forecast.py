"""Resource forecast from a trial's counters: aggregator load, device hours, compute per device class. Pure."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.units import MB
from .clock import Counters


def forecast(counters: Counters, virtual_s: float, update_bytes: float, class_names: list[str]) -> dict[str, Any]:
    """Aggregator updates/s and MB/s (mean over the run and the busiest virtual hour), device hours."""
    hist = np.asarray(counters.uploads_per_hour, dtype=float)
    per_s = counters.uploads / virtual_s if virtual_s > 0 else 0.0
    peak_per_s = float(hist.max() / 3600.0) if len(hist) and virtual_s >= 3600 else per_s
    mb = update_bytes / MB
    return {
        "aggregator_updates_per_s": per_s,
        "aggregator_mb_per_s": per_s * mb,
        "peak_hour_updates_per_s": peak_per_s,
        "peak_hour_mb_per_s": peak_per_s * mb,
        "uploads_per_virtual_hour": hist.astype(int).tolist(),
        "client_compute_hours": counters.compute_s / 3600.0,
        "compute_hours_by_class": {n: s / 3600.0 for n, s in zip(class_names, counters.compute_s_by_class, strict=True)},
        "update_mb": mb,
    }


def spread(values: list[float | None]) -> dict[str, Any]:
    """Median, min and max over trials (None where no trial has a value; `n` counts trials with one)."""
    v = np.array([x for x in values if x is not None and not (isinstance(x, float) and np.isnan(x))], dtype=float)
    if not len(v):
        return {"median": None, "min": None, "max": None, "n": 0}
    return {"median": float(np.median(v)), "min": float(v.min()), "max": float(v.max()), "n": len(v)}
