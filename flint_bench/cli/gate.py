"""`flint-bench gate`: fail a model PR that breaks a budget or significantly regresses against the base."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.text import Text

from .output import FORMAT_OPTION_HELP, MLFLOW_OPTION_HELP, Format, console, err_console, output_handler, rich_table

if TYPE_CHECKING:
    from ..gate import GateResult


# options gate and gate-bench share: one declaration each
TARGET_OPTION = typer.Option(None, "--target", "-t", help="budget target(s) the model ships to; repeatable; default every target")
THRESHOLD_OPTION = typer.Option(1.10, "--threshold", help="head/base ratio a change must exceed to count (1.10 = 10% slower)")
ALPHA_OPTION = typer.Option(0.01, "--alpha", help="Mann-Whitney U significance level on the raw per-step samples")
BUSY_SHARE_OPTION = typer.Option(
    0.25,
    "--busy-share",
    help="other processes' share of the machine's CPU above which a side's timing is inconclusive (records with a machine section)",
)
FAIL_ON_INCONCLUSIVE_OPTION = typer.Option(
    False, "--fail-on-inconclusive", help="exit 1 when a timing comparison is inconclusive (busy or unlike machines)"
)
JUNIT_OPTION = typer.Option(None, "--junit", help="write JUnit XML: one test case per model x device x metric")
MARKDOWN_OPTION = typer.Option(
    None, "--markdown", help="write the Markdown table here (also appended to $GITHUB_STEP_SUMMARY when set)"
)


def gate(
    head: Path = typer.Option(..., "--head", help="results folder of the change (flint-bench run --out)"),
    base: Path | None = typer.Option(None, "--base", help="results folder of the baseline; without it only budgets are checked"),
    budgets: Path | None = typer.Option(
        None,
        "--budgets",
        help="budgets TOML (a \\[targets.NAME] table per target); default: paper 4.1, targets third_party (< 1 MB storage) and first_party (< 10 MB)",
    ),
    target: list[str] | None = TARGET_OPTION,
    threshold: float = THRESHOLD_OPTION,
    alpha: float = ALPHA_OPTION,
    min_samples: int = typer.Option(
        6, "--min-samples", min=2, help="per-step samples needed on each side to judge a timing change"
    ),
    repeat_check: bool = typer.Option(
        True,
        "--repeat-check/--no-repeat-check",
        help="a slowdown must also separate the repeats (every head repeat median beyond every base one)",
    ),
    busy_share: float = BUSY_SHARE_OPTION,
    fail_on_inconclusive: bool = FAIL_ON_INCONCLUSIVE_OPTION,
    junit: Path | None = JUNIT_OPTION,
    markdown: Path | None = MARKDOWN_OPTION,
    benchmark_json: Path | None = typer.Option(
        None, "--benchmark-json", help="write github-action-benchmark customSmallerIsBetter JSON of the head"
    ),
    format: Format = typer.Option(Format.table, "--format", help=FORMAT_OPTION_HELP),
    mlflow: bool = typer.Option(False, "--mlflow", help=MLFLOW_OPTION_HELP),
) -> None:
    """Exit 1 when a head result breaks a budget, or is slower/larger than the base beyond --threshold
    and significantly so; exit 2 for bad input. Missing base results are reported, not fatal. A timing
    comparison made on a busy machine, or on two sides that ran under different conditions, is
    inconclusive: exit 0 unless --fail-on-inconclusive."""
    from .. import api
    from ..gate import GateSettings

    with output_handler(format) as out:
        settings = GateSettings(
            threshold=threshold,
            alpha=alpha,
            min_samples=min_samples,
            repeat_check=repeat_check,
            busy_share=busy_share,
            fail_on_inconclusive=fail_on_inconclusive,
        )
        settings.check()
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        files = api.GateFiles(junit, markdown, benchmark_json, Path(summary) if summary else None)
        run = api.gate(
            head, base, budgets=budgets, targets=target, settings=settings, files=files, mlflow=mlflow, say=out.message
        )
        out.result(run.result.to_dict(), render=lambda: show_gate(run.result))
    if not run.result.passed:
        raise typer.Exit(1)


COLOUR = {
    "fail": "red",
    "improved": "green",
    "pass": "green",
    "cannot-judge": "yellow",
    "inconclusive": "yellow",
    "no-base": "dim",
    "not-targeted": "dim",
}


def show_gate(result: GateResult) -> None:
    s = result.settings
    table = rich_table(
        f"flint-bench gate · threshold x{s.threshold:g}, p < {s.alpha:g} · targets {', '.join(result.targets) or 'none'}",
        ["verdict", "model", "device", "metric", "why"],
        [],
    )
    for c in sorted(result.cases, key=lambda c: (not c.failed, c.model, c.device, c.metric)):
        why = "; ".join(f"{v.check}: {v.message}" for v in c.verdicts)
        # names come from users: Text() keeps rich from reading them as markup
        table.add_row(Text(c.status, style=COLOUR[c.status]), Text(c.model), Text(c.device), c.metric, Text(why))
    console.print(table)
    for m, d in result.missing_base:
        err_console.print(f"no base result for {m} on {d}: budgets checked, regression not judged", highlight=False, markup=False)
    for m, d in result.missing_head:
        err_console.print(f"{m} on {d} is in the base but not in the head", highlight=False, markup=False)
    verdict = "[red]FAILED[/]" if not result.passed else "[green]passed[/]"
    unjudged = sum(c.status == "cannot-judge" for c in result.cases)
    foggy = sum(c.status == "inconclusive" for c in result.cases)
    cannot = f", {unjudged} cannot be judged (see why)" if unjudged else ""
    cannot += f", {foggy} inconclusive (busy or unlike machines, see why)" if foggy else ""
    console.print(f"gate {verdict}: {len(result.failures)} of {len(result.cases)} checks fail{cannot}")


def register(app: typer.Typer) -> None:
    app.command()(gate)
