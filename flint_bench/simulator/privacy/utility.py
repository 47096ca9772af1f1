"""The utility cost of DP: a DP run against the same run without DP (same seed). Pure.

Rows are the sweep's rows (medians over trials, with `_min`, `_max` and `_n`, the trials with a value).
"""

from __future__ import annotations

from typing import Any


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
    cols = ("epsilon", "final_metric", "virtual_hours_to_target", "tasks_to_target")

    def line(params: dict[str, Any], r: dict[str, Any]) -> dict[str, Any]:
        return {
            **{k: params.get(k) for k in keys},
            **{f"{c}{end}": r.get(f"{c}{end}") for c in cols for end in ("", "_min", "_max")},
            **utility_cost(r, baseline),
        }

    return [line({k: "no DP" for k in keys}, baseline)] + [line(r["params"], r) for r in rows]
