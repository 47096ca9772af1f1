"""The utility cost of DP: a DP run against the same run without DP (same seed). Pure.

Rows are the sweep's rows (medians over trials, with `_min`, `_max` and `_n`, the trials with a value).
In a DP sweep every run goes its whole budget (no stop at the target), so final metrics compare at
equal effort; the time and tasks to the target are read off the evaluation rows (`to_target`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..forecast import spread


def to_target(rows: list[dict[str, Any]], target: float) -> list[dict[str, Any]]:
    """Per trial, the first evaluation at or above `target`: virtual hours, tasks started and aggregations
    by then (None when the trial never reached it). The same moment `TargetStopping` would stop at."""
    out: dict[int, dict[str, Any]] = {}
    for r in sorted(rows, key=lambda r: (r["trial"], r["virtual_time_s"], r["aggregation"])):
        t = out.setdefault(int(r["trial"]), {"virtual_hours_to_target": None, "tasks_to_target": None, "aggregations": None})
        if t["aggregations"] is None and r.get("metric") is not None and r["metric"] >= target:
            t |= {"virtual_hours_to_target": r["virtual_time_s"] / 3600.0, "tasks_to_target": r["tasks_started"]}
            t["aggregations"] = r["aggregation"]
    return [out[k] for k in sorted(out)]


def target_figures(
    rows: list[dict[str, Any]], target: float, epsilon_after: Callable[[int], float | None] | None = None
) -> dict[str, Any]:
    """Median / min / max / n over trials of the hours and tasks to the target (and ε spent by then), as sweep-row keys."""
    per_trial = to_target(rows, target)
    if epsilon_after is not None:
        for t in per_trial:
            t["epsilon_at_target"] = epsilon_after(t["aggregations"]) if t["aggregations"] is not None else None
    out: dict[str, Any] = {}
    for key in [k for k in per_trial[0] if k != "aggregations"] if per_trial else []:
        s = spread([t[key] for t in per_trial])
        out |= {key: s["median"], f"{key}_min": s["min"], f"{key}_max": s["max"], f"{key}_n": s["n"]}
    return out


def _diff(a: Any, b: Any) -> float | None:
    return None if a is None or b is None else float(a) - float(b)


def utility_cost(row: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    """Metric lost, and extra tasks and virtual hours to the target, against the run without DP.

    A time or task count is compared only when both runs reached the target in every trial
    (otherwise the median covers a different set of trials); None then means "not comparable".
    """
    trials = row.get("trials")

    def all_reached(r: dict[str, Any]) -> bool:
        return r.get("tasks_to_target_n") == r.get("trials") and r.get("trials") is not None

    both = all_reached(row) and all_reached(baseline)
    return {
        "metric_drop": _diff(baseline.get("final_metric"), row.get("final_metric")),
        "reached": row.get("tasks_to_target_n", 0),  # trials that reached the target, of `trials`
        "trials": trials,
        "extra_tasks_to_target": _diff(row.get("tasks_to_target"), baseline.get("tasks_to_target")) if both else None,
        "extra_hours_to_target": _diff(row.get("virtual_hours_to_target"), baseline.get("virtual_hours_to_target"))
        if both
        else None,
    }


def privacy_table(keys: list[str], rows: list[dict[str, Any]], baseline: dict[str, Any]) -> list[dict[str, Any]]:
    """The ε–metric–time table: one line per combination, the run without DP first."""
    cols = ("epsilon", "epsilon_at_target", "final_metric", "virtual_hours_to_target", "tasks_to_target")

    def line(params: dict[str, Any], r: dict[str, Any]) -> dict[str, Any]:
        return {
            **{k: params.get(k) for k in keys},
            **{f"{c}{end}": r.get(f"{c}{end}") for c in cols for end in ("", "_min", "_max")},
            **utility_cost(r, baseline),
        }

    return [line({k: "no DP" for k in keys}, baseline)] + [line(r["params"], r) for r in rows]
