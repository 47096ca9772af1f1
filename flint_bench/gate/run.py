"""The gate on results folders: read head and base, check them, write the CI outputs.

The I/O around the pure checks (checks.py) and outputs (outputs.py), for `flint-bench gate`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..budgets import load_budgets
from ..core.errors import UserError
from ..core.fileio import write_text_atomic
from ..core.records import Record, RecordError
from ..core.results import load_records
from .checks import GateResult, evaluate
from .outputs import benchmark_json, junit_xml, markdown
from .regression import GateSettings


@dataclass
class GateRun:
    result: GateResult
    head: list[Record]
    markdown: str


def run_gate(
    head: Path,
    base: Path | None,
    budgets: Path | None,
    targets: list[str] | None,
    settings: GateSettings,
) -> GateRun:
    """Gate the head folder against the budgets (file, or the paper's defaults) and the base folder."""
    head_records = load_records(head)
    if not head_records:
        raise UserError(f"{head}: no result records in this folder. Run `flint-bench run --out {head}` first.")
    base_records = load_records(base) if base is not None else None
    selected = load_budgets(budgets).select(targets)
    try:
        result = evaluate(head_records, base_records, selected, settings)
    except RecordError as e:  # a hand-edited or foreign record: the user's to fix
        raise UserError(str(e)) from None
    return GateRun(result, head_records, markdown(result))


def write_outputs(
    run: GateRun,
    *,
    junit: Path | None = None,
    markdown_file: Path | None = None,
    benchmark_file: Path | None = None,
    step_summary: Path | None = None,
) -> None:
    """The files CI reads; `step_summary` ($GITHUB_STEP_SUMMARY) is appended to, not replaced."""
    if markdown_file:
        write_text_atomic(markdown_file, run.markdown)
    if step_summary:
        with open(step_summary, "a") as f:
            f.write(run.markdown + "\n")
    if junit:
        write_text_atomic(junit, junit_xml(run.result))
    if benchmark_file:
        write_text_atomic(benchmark_file, json.dumps(benchmark_json(run.head), indent=2, allow_nan=False) + "\n")
