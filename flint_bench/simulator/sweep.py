"""`simulate --sweep`: every combination of the config's `[sweep]` table, one run each.

Every combination is parsed (and so checked) before any runs; with an output folder each run
writes into `sweep-NNN/`, and the table of medians goes to sweep.parquet and sweep.json.
When a combination has `[privacy.dp]`, the same run without DP (same seed) runs first into
`baseline/`; each row then carries its utility cost, and summary.json in the output folder is the
baseline's summary with the ε–metric–time table under "privacy_sweep" (`flint-bench report --sim`).
In such a sweep no run stops at `sim.target_metric`: each goes its whole budget so the final metrics
compare at equal effort, and the time, tasks and ε to the target come from the evaluation rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import parse, sweep_grid, with_overrides
from .experiment import Progress, check_model_available, run
from .outputs import write_json, write_parquet
from .privacy.run import epsilon_after
from .privacy.utility import privacy_table, target_figures, utility_cost


@dataclass
class SweepResult:
    keys: list[str]  # the swept dotted keys, in the order of the [sweep] table
    rows: list[dict[str, Any]]  # per combination: "params" and each summary metric's median, _min and _max
    warnings: list[str]  # every combination's warnings, each once
    baseline: dict[str, Any] | None = None  # the run without DP, as a row, when the sweep has DP
    privacy: list[dict[str, Any]] | None = None  # the ε–metric–time table (utility.privacy_table)


def _row(params: dict[str, Any], summary: dict[str, Any]) -> dict[str, Any]:
    metrics = summary["metrics"]
    return {
        "params": params,
        "trials": summary["trials"],
        **{k: v["median"] for k, v in metrics.items()},
        **{f"{k}_min": v["min"] for k, v in metrics.items()},
        **{f"{k}_max": v["max"] for k, v in metrics.items()},
        **{f"{k}_n": v["n"] for k, v in metrics.items()},
    }


def without_dp(raw: dict[str, Any]) -> dict[str, Any]:
    """The raw config without `[privacy.dp]` (SecAgg, the seed and everything else kept)."""
    privacy = {k: v for k, v in (raw.get("privacy") or {}).items() if k != "dp"}
    return {**{k: v for k, v in raw.items() if k != "privacy"}, **({"privacy": privacy} if privacy else {})}


def run_sweep(
    raw: dict[str, Any], file: str, out: Path | None = None, backend: str = "local", progress: Progress | None = None
) -> SweepResult:
    grid = sweep_grid(raw, file)
    base = {k: v for k, v in raw.items() if k != "sweep"}
    configs = []
    for combo in grid:  # validate every combination before running any
        r = with_overrides(base, combo)
        configs.append((combo, r, parse(r, f"{file} (sweep {combo})")))
    check_model_available(configs[0][2])
    rows, warnings = [], []
    baseline, baseline_summary = None, None
    dp_sweep = any(cfg.privacy.dp is not None for _, _, cfg in configs)
    target = configs[0][2].sim.target_metric

    def run_one(r: dict[str, Any], label: str, folder: str) -> tuple[dict[str, Any], dict[str, Any]]:
        if dp_sweep:  # the whole budget: no stop at the target (module docstring)
            r = with_overrides(r, {"sim.target_metric": None})
        cfg = parse(r, f"{file} ({label})")
        result = run(cfg, r, out / folder if out else None, backend, False, progress)
        row = _row({}, result.summary)
        if dp_sweep and target is not None:
            trials = result.summary["per_trial"]
            row |= target_figures(result.rows, target, epsilon_after(trials[0]["privacy"]["dp"]) if trials else None)
        return row, result.summary

    if dp_sweep:
        if progress:
            progress("sweep baseline: the same run without DP")
        baseline, baseline_summary = run_one(without_dp(base), "without DP", "baseline")
    for i, (combo, r, _cfg) in enumerate(configs):
        if progress:
            progress(f"sweep {i + 1}/{len(configs)}: {combo}")
        row, summary = run_one(r, f"sweep {combo}", f"sweep-{i:03d}")
        row["params"] = combo
        rows.append(row | (utility_cost(row, baseline) if baseline else {}))
        warnings += [w for w in summary["warnings"] if w not in warnings]
    keys = list(grid[0])
    table = privacy_table(keys, rows, baseline) if baseline else None
    if out:
        flat = [
            {**{f"param.{k}": v for k, v in row["params"].items()}, **{k: v for k, v in row.items() if k != "params"}}
            for row in rows
        ]
        write_parquet(out / "sweep.parquet", flat)
        write_json(out / "sweep.json", rows)
        if baseline_summary is not None:
            write_json(out / "summary.json", baseline_summary | {"privacy_sweep": table})
    return SweepResult(keys, rows, warnings, baseline, table)
