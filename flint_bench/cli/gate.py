"""`flint-bench gate`: fail a model PR that breaks a budget or significantly regresses against the base."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from .output import FORMAT_OPTION_HELP, Format, console, err_console, print_json, rich_table


def gate(
    head: Path = typer.Option(..., "--head", help="results folder of the change (flint-bench run --out)"),
    base: Path | None = typer.Option(
        None, "--base", help="results folder of the baseline; without it only budgets are checked"
    ),
    budgets: Path | None = typer.Option(
        None,
        "--budgets",
        help="budgets TOML (a \\[targets.NAME] table per target); default: paper 4.1, targets third_party (< 1 MB storage) and first_party (< 10 MB)",
    ),
    target: list[str] | None = typer.Option(
        None, "--target", "-t", help="budget target(s) the model ships to; repeatable; default every target"
    ),
    threshold: float = typer.Option(
        1.10, "--threshold", help="head/base ratio a change must exceed to count (1.10 = 10% slower)"
    ),
    alpha: float = typer.Option(0.01, "--alpha", help="Mann-Whitney U significance level on the raw per-step samples"),
    min_samples: int = typer.Option(
        6, "--min-samples", min=2, help="per-step samples needed on each side to judge a timing change"
    ),
    repeat_check: bool = typer.Option(
        True,
        "--repeat-check/--no-repeat-check",
        help="a slowdown must also separate the repeats (every head repeat median beyond every base one)",
    ),
    junit: Path | None = typer.Option(None, "--junit", help="write JUnit XML: one test case per model x device x metric"),
    markdown: Path | None = typer.Option(
        None, "--markdown", help="write the Markdown table here (also appended to $GITHUB_STEP_SUMMARY when set)"
    ),
    benchmark_json: Path | None = typer.Option(
        None, "--benchmark-json", help="write github-action-benchmark customSmallerIsBetter JSON of the head"
    ),
    format: Format = typer.Option(Format.table, "--format", help=FORMAT_OPTION_HELP),
) -> None:
    """Exit 1 when a head result breaks a budget, or is slower/larger than the base beyond --threshold
    and significantly so; exit 2 for bad input. Missing base results are reported, not fatal."""
    import json

    from rich.text import Text

    from ..core.errors import UserError
    from ..core.results import load_records
    from ..gate.budgets import load_budgets
    from ..gate.checks import GateSettings, evaluate
    from ..gate.outputs import benchmark_json as bench_json
    from ..gate.outputs import junit_xml
    from ..gate.outputs import markdown as to_markdown

    if threshold <= 1.0:
        raise UserError(f"--threshold {threshold}: must be a ratio above 1 (e.g. 1.10 for 10% slower).")
    if not 0 < alpha < 1:
        raise UserError(f"--alpha {alpha}: must be between 0 and 1 (e.g. 0.01).")
    head_records = load_records(head)
    if not head_records:
        raise UserError(f"{head}: no result records in this folder. Run `flint-bench run --out {head}` first.")
    base_records = load_records(base) if base is not None else None
    targets = load_budgets(budgets).select(target)
    result = evaluate(
        head_records,
        base_records,
        targets,
        GateSettings(threshold=threshold, alpha=alpha, min_samples=min_samples, repeat_check=repeat_check),
    )

    md = to_markdown(result)
    if markdown:
        markdown.parent.mkdir(parents=True, exist_ok=True)
        markdown.write_text(md)
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a") as f:
            f.write(md + "\n")
    if junit:
        junit.parent.mkdir(parents=True, exist_ok=True)
        junit.write_text(junit_xml(result))
    if benchmark_json:
        benchmark_json.parent.mkdir(parents=True, exist_ok=True)
        benchmark_json.write_text(json.dumps(bench_json(head_records), indent=2) + "\n")

    if format is Format.json:
        print_json(result.to_dict())
    else:
        colour = {
            "fail": "red",
            "improved": "green",
            "pass": "green",
            "cannot-judge": "yellow",
            "no-base": "dim",
            "not-targeted": "dim",
        }
        rows = []
        for c in sorted(result.cases, key=lambda c: (not c.failed, c.model, c.device, c.metric)):
            msg = "; ".join(f"{v.check}: {v.message}" for v in c.verdicts)
            # names come from users: Text() keeps rich from reading them as markup
            rows.append([Text(c.status, style=colour[c.status]), Text(c.model), Text(c.device), c.metric, Text(msg)])
        table = rich_table(
            f"flint-bench gate · threshold x{threshold:g}, p < {alpha:g} · targets {', '.join(result.targets) or 'none'}",
            ["verdict", "model", "device", "metric", "why"],
            [],
        )
        for row in rows:
            table.add_row(*row)
        console.print(table)
        for m, d in result.missing_base:
            err_console.print(
                f"no base result for {m} on {d}: budgets checked, regression not judged", highlight=False, markup=False
            )
        for m, d in result.missing_head:
            err_console.print(f"{m} on {d} is in the base but not in the head", highlight=False, markup=False)
        console.print(
            f"gate {'[red]FAILED[/]' if not result.passed else '[green]passed[/]'}: {len(result.failures)} of {len(result.cases)} checks fail"
        )
    if not result.passed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(gate)
