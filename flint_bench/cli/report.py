"""`flint-bench report`: the device-compatibility report, one self-contained HTML file (or Markdown)."""

from __future__ import annotations

from pathlib import Path

import typer

from ..report.render import ReportFormat
from .output import Format, output_handler


def report(
    results: Path = typer.Option(..., "--results", help="results folder (flint-bench run --out)"),
    out: Path = typer.Option(..., "--out", "-o", help="the report file to write, e.g. reports/NAME.html"),
    profiles: Path | None = typer.Option(None, "--profiles", help="device profiles Parquet"),
    eligibility: Path | None = typer.Option(None, "--eligibility", help="JSON from `flint-bench eligibility --format json`"),
    simulation: Path | None = typer.Option(
        None, "--simulation", help="folder from `flint-bench simulate --out` (summary.json, metrics.parquet)"
    ),
    decision: Path | None = typer.Option(
        None, "--decision", help="decision.json from `flint-bench assess`: the decision and the coverage on top"
    ),
    budgets: Path | None = typer.Option(
        None,
        "--budgets",
        help="budgets TOML (a \\[targets.NAME] table per target); default: paper 4.1, targets third_party (< 1 MB storage) and first_party (< 10 MB)",
    ),
    target: list[str] | None = typer.Option(None, "--target", "-t", help="only these budget targets; repeatable"),
    format: ReportFormat | None = typer.Option(
        None,
        "--format",
        help="html (self-contained, inline SVG plots) or markdown; default from --out's suffix (.md = markdown), else html",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="do not print where the report went"),
) -> None:
    """Write the device-compatibility report: deployability summary, Table 5, training time per device
    (Figure 4), CPU and memory, budgets, eligibility, simulator projections and provenance."""
    from .. import api

    # --format names the report's format; what the command prints is always for people
    with output_handler(Format.table, quiet) as output:
        written = api.report(
            results,
            out,
            profiles=profiles,
            eligibility=eligibility,
            simulation=simulation,
            decision=decision,
            budgets=budgets,
            targets=target,
            format=format,
        )
        output.message(
            f"report: {written.path} ({written.bytes / 1024:.0f} KiB, {written.models} models x {written.devices} devices)"
        )


def register(app: typer.Typer) -> None:
    app.command()(report)
