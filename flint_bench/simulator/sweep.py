"""`simulate --sweep`: every combination of the config's `[sweep]` table, one run each.

Every combination is parsed (and so checked) before any runs; with an output folder each run
writes into `sweep-NNN/`, and the table of medians goes to sweep.parquet and sweep.json.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import parse, sweep_grid, with_overrides
from .experiment import Progress, check_model_available, run
from .outputs import write_json, write_parquet


@dataclass
class SweepResult:
    keys: list[str]  # the swept dotted keys, in the order of the [sweep] table
    rows: list[dict[str, Any]]  # per combination: "params" and each summary metric's median, _min and _max
    warnings: list[str]  # every combination's warnings, each once


def _row(params: dict[str, Any], metrics: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "params": params,
        **{k: v["median"] for k, v in metrics.items()},
        **{f"{k}_min": v["min"] for k, v in metrics.items()},
        **{f"{k}_max": v["max"] for k, v in metrics.items()},
    }


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
    for i, (combo, r, cfg) in enumerate(configs):
        if progress:
            progress(f"sweep {i + 1}/{len(configs)}: {combo}")
        result = run(cfg, r, out / f"sweep-{i:03d}" if out else None, backend, False, progress)
        rows.append(_row(combo, result.summary["metrics"]))
        warnings += [w for w in result.summary["warnings"] if w not in warnings]
    if out:
        table = [
            {**{f"param.{k}": v for k, v in row["params"].items()}, **{k: v for k, v in row.items() if k != "params"}}
            for row in rows
        ]
        write_parquet(out / "sweep.parquet", table)
        write_json(out / "sweep.json", rows)
    return SweepResult(list(grid[0]), rows, warnings)
