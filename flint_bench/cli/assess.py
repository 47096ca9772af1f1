"""`flint-bench assess`: from a model to a decision in one command (the library is flint_bench.assess)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from .output import FORMAT_OPTION_HELP, MLFLOW_OPTION_HELP, Format, console, output_handler, rich_table


def assess(
    config: Path = typer.Option(Path("configs/assess.toml"), "--config", "-c", help="the assess TOML (see configs/assess.toml)"),
    out: Path = typer.Option(
        Path("assess"), "--out", "-o", help="folder for the stages' outputs, decision.json/.md and report.html"
    ),
    format: Format = typer.Option(Format.table, "--format", help=FORMAT_OPTION_HELP),
    force: bool = typer.Option(False, "--force", help="rerun every stage, cached or not"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress lines (one per stage, on stderr)"),
    fail_on_no_go: bool = typer.Option(False, "--fail-on-no-go", help="exit 1 when a model x target is no-go (for CI)"),
    mlflow: bool = typer.Option(False, "--mlflow", help=MLFLOW_OPTION_HELP),
) -> None:
    """Benchmark -> profiles -> compat -> sessions -> coverage -> eligibility -> simulation -> forecast ->
    decision: go / no-go / needs-measurement per model and deployment target, with the reasons.
    Every stage is cached by a hash of its inputs; a rerun with nothing changed takes seconds."""
    from .. import api
    from ..report.decision import DETAIL_COLUMNS, coverage_line, detail_rows, table_rows

    with output_handler(format, quiet) as output:
        result = api.assess(config, out, force=force, say=output.message, mlflow=mlflow)
        doc = result.decision

        def render() -> None:
            columns, rows = table_rows(doc)
            console.print(rich_table("decision", columns, rows))
            for d in doc["decisions"]:
                console.print(
                    f"{d['model']} / {d['target']}: {d['verdict']}: " + "; ".join(d["reasons"]), markup=False, highlight=False
                )
            detail = detail_rows(doc)
            if detail:
                console.print(rich_table(escape("simulation: median [min–max] over trials"), DETAIL_COLUMNS, detail))
            console.print(coverage_line(doc), markup=False, highlight=False)
            console.print(
                f"decision: {result.outputs['decision_json']} · {result.outputs['decision_md']} · {result.outputs['report']}"
            )

        output.result({**doc, "outputs": result.outputs}, render)
    if fail_on_no_go and any(d["verdict"] == "no-go" for d in doc["decisions"]):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(assess)
