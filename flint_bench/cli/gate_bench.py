"""`flint-bench gate-bench`: measure base and head interleaved on this machine, then gate them."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import typer

from .gate import (
    ALPHA_OPTION,
    BUSY_SHARE_OPTION,
    FAIL_ON_INCONCLUSIVE_OPTION,
    JUNIT_OPTION,
    MARKDOWN_OPTION,
    TARGET_OPTION,
    THRESHOLD_OPTION,
    show_gate,
)
from .output import FORMAT_OPTION_HELP, Format, output_handler


def gate_bench(
    base: str = typer.Option(
        ..., "--base", help="the baseline: a git ref of this repository (origin/main), a checkout or a models folder"
    ),
    head: str = typer.Option(..., "--head", help="the change: a git ref (HEAD), a checkout or a models folder"),
    model: list[str] = typer.Option(
        ..., "--model", "-m", help="model(s) to measure on both sides (zoo name or file stem); repeatable"
    ),
    rounds: int = typer.Option(6, "--rounds", min=2, max=1000, help="repeats per side, alternating base/head (ABBA order)"),
    examples: int = typer.Option(500, "--examples", min=1, max=10_000_000, help="examples trained per repeat"),
    threads: int = typer.Option(
        1,
        "--threads",
        min=0,
        max=1024,
        help="worker threads (default 1: independent of how many cores are free; 0: one per core)",
    ),
    out: Path | None = typer.Option(
        None, "--out", help="keep the records here (<out>/base/round-N, <out>/head/round-N); default: a temporary folder"
    ),
    budgets: Path | None = typer.Option(None, "--budgets", help="budgets TOML, as for `flint-bench gate`"),
    target: list[str] | None = TARGET_OPTION,
    threshold: float = THRESHOLD_OPTION,
    alpha: float = ALPHA_OPTION,
    busy_share: float = BUSY_SHARE_OPTION,
    fail_on_inconclusive: bool = FAIL_ON_INCONCLUSIVE_OPTION,
    junit: Path | None = JUNIT_OPTION,
    markdown: Path | None = MARKDOWN_OPTION,
    format: Format = typer.Option(Format.table, "--format", help=FORMAT_OPTION_HELP),
) -> None:
    """Export the models of both sides, run their repeats alternately on the local farm (base, head,
    head, base, ...; one worker thread by default), then gate head against base exactly as
    `flint-bench gate` does: exit 1 on a budget breach or a significant slowdown, 0 otherwise, an
    inconclusive timing (a busy or unlike machine) included unless --fail-on-inconclusive; 2 for bad
    input."""
    from ..gate import GateSettings, run_gate, write_outputs
    from ..gate.bench import SIDES, BenchPlan, measure_interleaved, models_folder, side_model

    with output_handler(format) as output:
        settings = GateSettings(
            threshold=threshold, alpha=alpha, busy_share=busy_share, fail_on_inconclusive=fail_on_inconclusive
        )
        settings.check()
        plan = BenchPlan(rounds=rounds, examples=examples, threads=threads or None)
        with tempfile.TemporaryDirectory(prefix="flint-gate-bench-") as tmp:
            folder = out or Path(tmp)
            refs = dict(zip(SIDES, (base, head), strict=True))
            sides = {s: models_folder(refs[s], s, Path(tmp) / "sources", Path.cwd()) for s in SIDES}
            models = {s: [side_model(sides[s], name, s) for name in model] for s in SIDES}
            measure_interleaved(models, plan, folder, on_note=output.message)
            run = run_gate(folder / "head", folder / "base", budgets, target, settings)
            summary = os.environ.get("GITHUB_STEP_SUMMARY")
            write_outputs(run, junit=junit, markdown_file=markdown, step_summary=Path(summary) if summary else None)
        output.result(run.result.to_dict(), render=lambda: show_gate(run.result))
    if not run.result.passed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("gate-bench")(gate_bench)
