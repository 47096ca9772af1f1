"""The privacy trade-off from a DP sweep (`simulate --sweep` of configs/sim-dp.toml): the ε–metric–time
table as rows of the simulation table and two charts against ε, the run without DP as a flat line.
Its input is another command's output, so every read is lenient."""

from __future__ import annotations

import math
from typing import Any

from .svg import LineChart, line_chart

# the table's columns: key in a privacy_sweep line -> label
COLUMNS = (
    ("epsilon", "ε"),
    ("epsilon_at_target", "ε spent by the target"),
    ("final_metric", "final metric"),
    ("metric_drop", "metric lost to DP"),
    ("virtual_hours_to_target", "virtual hours to target"),
    ("tasks_to_target", "tasks to target"),
    ("extra_hours_to_target", "extra virtual hours to target"),
    ("extra_tasks_to_target", "extra tasks to target"),
)


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def _lines(summary: dict[str, Any] | None) -> list[dict[str, Any]]:
    table = summary.get("privacy_sweep") if isinstance(summary, dict) else None
    return [r for r in table if isinstance(r, dict)] if isinstance(table, list) else []


def _label(line: dict[str, Any]) -> str:
    params = [(k, v) for k, v in line.items() if "." in k]  # the swept dotted keys
    if not params or all(v == "no DP" for _, v in params):
        return "no DP"
    return ", ".join(("z" if k.endswith("noise_multiplier") else k.rsplit(".", 1)[-1]) + f"={v}" for k, v in params)


def privacy_rows(summary: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Rows for the simulation table (metric, median, min, max): per sweep line, each column with a value."""
    rows = []
    for line in _lines(summary):
        label = _label(line)
        for key, name in COLUMNS:
            if (median := _num(line.get(key))) is None:
                continue
            rows.append(
                {
                    "metric": f"privacy {label}: {name}",
                    "label": f"privacy {label}: {name}",
                    "median": median,
                    "min": _num(line.get(f"{key}_min")),
                    "max": _num(line.get(f"{key}_max")),
                    "scalar": None,
                }
            )
        if (reached := _num(line.get("reached"))) is not None:
            rows.append(
                {
                    "metric": f"privacy {label}: trials reaching the target",
                    "median": reached,
                    "min": None,
                    "max": None,
                    "scalar": None,
                }
            )
    return rows


def privacy_charts(summary: dict[str, Any] | None) -> list[LineChart]:
    """Final metric and virtual hours to target against ε (DP runs by ε; the run without DP flat)."""
    lines = _lines(summary)
    dp = sorted((x for x in lines if _label(x) != "no DP" and _num(x.get("epsilon")) is not None), key=lambda x: x["epsilon"])
    if not dp:
        return []
    base = next((x for x in lines if _label(x) == "no DP"), None)
    # ε spans orders of magnitude across a sweep (z = 0.3 gives ~10^3, z = 2 below 1): a log axis that starts at 0
    eps = [math.log10(1.0 + float(x["epsilon"])) for x in dp]
    charts = []
    for key, name in (("final_metric", "final metric"), ("virtual_hours_to_target", "virtual hours to target")):
        # a time to the target is a median over the trials that reached it: drawn only when all did
        pts = [
            (e, y)
            for e, x in zip(eps, dp, strict=True)
            if (y := _num(x.get(key))) is not None and (key == "final_metric" or x.get("reached") == x.get("trials"))
        ]
        if not pts:
            continue
        series = [("DP runs (median over trials)", [e for e, _ in pts], [y for _, y in pts])]
        if base is not None and (b := _num(base.get(key))) is not None:
            series.append(("no DP", [0.0, max(eps)], [b, b]))
        charts.append(line_chart(f"{name} against ε (DP sweep)", "log10(1 + ε) at the run's δ", name, series))
    return charts
