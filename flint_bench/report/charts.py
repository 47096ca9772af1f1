"""Per-device figures of the report: the paper's Figure 4, CPU and memory charts, and the table of
every model x device run. A failed run's partial measurements are never shown as figures."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.records import Record, per_example_samples, seconds_per_5000, training_memory_mb
from ..core.stats import finite
from .svg import HBarChart, hbar_chart
from .text import fmt


def figure4(records: list[Record], colors: dict[str, str]) -> list[HBarChart]:
    """The paper's Figure 4: training seconds per 5,000 examples per device, one panel per ML model;
    bars = mean over repeats, whiskers = p10-p90 of the per-step samples scaled to 5,000 examples."""
    panels = []
    for model in sorted({r["model"]["name"] for r in records}):
        rows = []
        for r in sorted((r for r in records if r["model"]["name"] == model), key=lambda r: r["device"]["id"]):
            ok = r["status"] == "ok"
            s = per_example_samples(r) if ok else []
            lo, hi = (finite(x) for x in (np.percentile(s, [10, 90]) * 5000).tolist()) if s else (None, None)
            v = finite(seconds_per_5000(r)) if ok else None
            rows.append(
                {
                    "label": str(r["device"]["id"]),
                    "value": v,
                    "lo": lo,
                    "hi": hi,
                    "color": colors[model],
                    "missing": "n/a" if ok else "failed",
                    "title": f"{model} on {r['device']['id']}: "
                    + (
                        f"{v:.4g} s per 5,000 examples (p10-p90 {lo:.4g}-{hi:.4g} s)"
                        if v is not None and lo is not None and hi is not None
                        else "failed"
                        if not ok
                        else "not a finite number"
                    ),
                }
            )
        panels.append(
            hbar_chart(f"model {model}", "s per 5,000 examples", rows, note="bar: mean; whisker: p10-p90 of per-step times")
        )
    return panels


def resource_charts(records: list[Record], colors: dict[str, str]) -> list[HBarChart]:
    """CPU % and peak memory per device, a bar per (device, model) in the model's colour."""
    rows_cpu, rows_mem = [], []
    for r in sorted(records, key=lambda r: (r["device"]["id"], r["model"]["name"])):
        model, dev = r["model"]["name"], str(r["device"]["id"])
        ok = r["status"] == "ok"
        cpu = r["cpu"]["mean_percent"] if ok else None
        cpu_max = r["cpu"]["max_percent"] if ok else None
        mem = training_memory_mb(r) if ok else None
        missing = "n/a" if ok else "failed"
        # model first: a long device name is cut at the end, the model stays readable
        label = f"{model} · {dev}"
        rows_cpu.append(
            {
                "label": label,
                "value": cpu,
                "color": colors[model],
                "missing": missing,
                "hi": cpu_max,
                "lo": cpu,
                "title": f"{model} on {dev}: mean {fmt(cpu)} %, max {fmt(r['cpu']['max_percent'])} %",
            }
        )
        rows_mem.append(
            {
                "label": label,
                "value": mem,
                "color": colors[model],
                "missing": missing,
                "title": f"{model} on {dev}: {fmt(mem)} MB",
            }
        )
    legend = list(colors.items())
    return [
        hbar_chart("CPU (mean %, whisker to max; 100 = one core)", "%", rows_cpu, legend=legend),
        hbar_chart("peak memory above baseline (MB)", "MB", rows_mem, legend=legend),
    ]


def device_table(records: list[Record]) -> list[dict[str, Any]]:
    """One row per model x device."""
    rows = []
    for r in sorted(records, key=lambda r: (r["device"]["id"], r["model"]["name"])):
        ok = r["status"] == "ok"
        pe = (r["timing"]["per_example_seconds"] or {}) if ok else {}
        p50, p90 = pe.get("p50"), pe.get("p90")
        error = r["error"]
        rows.append(
            {
                "device": r["device"]["id"],
                "model": r["model"]["name"],
                "status": r["status"],
                "error": error["message"] if error else None,
                "s_per_5000": seconds_per_5000(r) if ok else None,
                "p50_ms": p50 * 1000 if p50 is not None else None,
                "p90_ms": p90 * 1000 if p90 is not None else None,
                "cv": pe.get("cv"),
                "cpu_mean": r["cpu"]["mean_percent"] if ok else None,
                "cpu_max": r["cpu"]["max_percent"] if ok else None,
                "memory_mb": training_memory_mb(r) if ok else None,
                "peak_mb": r["memory"]["peak_mb"] if ok else None,
                "memory_method": r["memory"]["method"],
            }
        )
    return rows
