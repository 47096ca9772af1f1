"""`flint-bench gate-bench`: measure base and head interleaved on this machine, then gate them."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import typer

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
    target: list[str] | None = typer.Option(None, "--target", "-t", help="budget target(s); repeatable; default every target"),
    threshold: float = typer.Option(
        1.10, "--threshold", help="head/base ratio a change must exceed to count (1.10 = 10% slower)"
    ),
    alpha: float = typer.Option(0.01, "--alpha", help="Mann-Whitney U significance level on the raw per-step samples"),
    busy_share: float = typer.Option(
        0.25,
        "--busy-share",
        help="other processes' share of the machine's CPU above which a side's timing is inconclusive",
    ),
    fail_on_inconclusive: bool = typer.Option(
        False, "--fail-on-inconclusive", help="exit 1 when the timing comparison is inconclusive"
    ),
    junit: Path | None = typer.Option(None, "--junit", help="write JUnit XML: one test case per model x device x metric"),
    markdown: Path | None = typer.Option(
        None, "--markdown", help="write the Markdown table (also appended to $GITHUB_STEP_SUMMARY when set)"
    ),
    format: Format = typer.Option(Format.table, "--format", help=FORMAT_OPTION_HELP),
) -> None:
    """Export the models of both sides, run their repeats alternately on the local farm (base, head,
    head, base, ...; one worker thread by default), then gate head against base exactly as
    `flint-bench gate` does: exit 1 on a budget breach or a significant slowdown, 0 otherwise, an
    inconclusive timing (a busy or unlike machine) included unless --fail-on-inconclusive; 2 for bad
    input."""
    from ..gate import GateSettings, run_gate, write_outputs
    from ..gate.bench import SIDES, BenchPlan, measure_interleaved, models_folder, side_model
    from .gate import _show

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
        output.result(run.result.to_dict(), render=lambda: _show(run.result))
    if not run.result.passed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("gate-bench")(gate_bench)
