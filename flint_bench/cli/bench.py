"""`flint-bench run`, `export` and `models list`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..core.records import Record, seconds_per_5000

if TYPE_CHECKING:
    from ..report.table5 import Table5Row
from .output import FORMAT_OPTION_HELP, MLFLOW_OPTION_HELP, Format, Output, console, err_console, fmt, output_handler, rich_table


def run(
    farm: Path | None = typer.Option(
        None, "--farm", help="farm config TOML (default farm_configs/local.toml, or the built-in local farm)"
    ),
    model: list[str] | None = typer.Option(
        None, "--model", "-m", help="zoo model name or path/to/file.py:build; repeatable; default all"
    ),
    examples: int | None = typer.Option(
        None, "--examples", "-n", min=1, help="training examples per repeat (default from the farm, 5000)"
    ),
    repeats: int | None = typer.Option(None, "--repeats", "-r", min=1, help="timed repeats per model and device"),
    batch_size: int | None = typer.Option(None, "--batch-size", min=1, help="override every model's batch size"),
    warmup: int | None = typer.Option(None, "--warmup", min=0, help="untimed warm-up steps"),
    sustained: float | None = typer.Option(
        None, "--sustained", metavar="MINUTES", help="then train this long more, recording throughput over time (local farm)"
    ),
    out: Path = typer.Option(Path("results"), "--out", "-o", help="results folder (JSON per model x device + results.parquet)"),
    resume: bool = typer.Option(False, "--resume", help="skip (model, device) pairs that already have an ok result in --out"),
    format: Format = typer.Option(Format.table, "--format", help=FORMAT_OPTION_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress output"),
    mlflow: bool = typer.Option(False, "--mlflow", help=MLFLOW_OPTION_HELP),
) -> None:
    """Export the models, train them on every device of a farm, and print a Table-5-style summary."""
    from .. import api

    with output_handler(format, quiet) as output:
        progress = _progress(output)
        task = progress.add_task("benchmarking", total=None)

        def on_export(name: str, artifacts: Any) -> None:
            state = (
                "failed"
                if artifacts is None
                else ("cached" if artifacts.cached else f"exported in {artifacts.export_seconds:.1f} s")
            )
            progress.console.print(f"export {name}: {state}", highlight=False)

        def on_record(record: Record) -> None:
            progress.console.print(_record_line(record), highlight=False)
            progress.advance(task)

        with progress:
            outcome = api.run(
                model,
                farm,
                out=out,
                resume=resume,
                examples=examples,
                repeats=repeats,
                batch_size=batch_size,
                warmup_steps=warmup,
                overrides={"sustained_minutes": sustained},
                # the flags obey the bounds the farm file's [run] table obeys, and errors name them
                flags=RUN_FLAGS,
                on_start=lambda total: progress.update(task, total=total),
                on_export=on_export,
                on_record=on_record,
                on_note=lambda text: progress.console.print(text, markup=False, highlight=False),
                mlflow=mlflow,
            )
            progress.advance(task, outcome.skipped)  # pairs --resume found finished

        def render() -> None:
            settings = outcome.settings
            title = f"flint-bench · farm {outcome.farm} · {settings.examples} examples × {settings.repeats} repeats"
            console.print(table5_table(outcome.rows, title))
            console.print(
                f"results: {outcome.out}/ ({len(outcome.records)} records, table {outcome.table.name})"
                + (f", {outcome.skipped} skipped (--resume)" if outcome.skipped else "")
            )

        output.result(outcome.to_dict(), render)
    if outcome.failed:
        raise typer.Exit(1)


RUN_FLAGS = {
    "examples": "--examples",
    "repeats": "--repeats",
    "batch_size": "--batch-size",
    "warmup_steps": "--warmup",
    "sustained_minutes": "--sustained",
}


def _progress(output: Output) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=not output.show_progress,
        transient=False,
    )


def _record_line(r: Record) -> str:
    if r["status"] == "ok" or r["error"] is None:
        status = f"{fmt(seconds_per_5000(r))} s/5000"
    else:
        # the whole message (already terminal-safe and bounded by fail()), its lines joined: a cut one lost the advice
        message = " ".join(line.strip() for line in r["error"]["message"].splitlines() if line.strip())
        status = f"[red]FAILED[/] {escape(r['error']['kind'])}: {escape(message)}"
    return f"{escape(r['model']['name'])} on {escape(r['device']['id'])}: {status}"


def table5_table(rows: list[Table5Row], title: str) -> Table:
    from ..report.table5 import RUN_SUMMARY, headers

    return rich_table(title, headers(RUN_SUMMARY), [[escape(c) for c in row.cells(RUN_SUMMARY)] for row in rows])


def export(
    model: list[str] | None = typer.Option(None, "--model", "-m", help="zoo model name or path/to/file.py:build; default all"),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="copy the artifacts and manifests here (they always go to the cache)"
    ),
    format: Format = typer.Option(Format.table, "--format", help=FORMAT_OPTION_HELP),
) -> None:
    """Export ExecuTorch training + inference programs and ONNX models (cached by content)."""
    from ..export import export_models
    from ..zoo import load_models

    with output_handler(format) as output:
        rows = export_models(load_models(model), out)
        for r in rows:
            if "error" in r and output.is_table:
                err_console.print(f"[red]export {escape(r['model'])} failed:[/] {escape(r['error'])}")

        def render() -> None:
            console.print(
                rich_table(
                    "exported artifacts",
                    ["model", "format", "file", "bytes", "sha256", "update bytes", "cached"],
                    [
                        [escape(r["model"]), f, a["file"], a["bytes"], a["sha256"][:12], a["update_bytes"], r["cached"]]
                        for r in rows
                        if "artifacts" in r
                        for f, a in r["artifacts"].items()
                    ],
                )
            )
            for r in rows:
                if "folder" in r:
                    console.print(f"{r['model']}: {r['folder']}", markup=False, highlight=False)

        output.result(rows, render)
    if any("error" in r for r in rows):
        raise typer.Exit(1)


models_app = typer.Typer(help="The model zoo (models/) and your own model files.", no_args_is_help=True)


@models_app.command("list")
def models_list(format: Format = typer.Option(Format.table, "--format", help=FORMAT_OPTION_HELP)) -> None:
    """Each zoo model with trainable/total params, task and batch size."""
    from ..zoo import describe_models, load_models

    with output_handler(format) as output:
        rows = describe_models(load_models(None))
        output.result(
            rows,
            lambda: console.print(
                rich_table(
                    "models",
                    ["name", "description", "task", "trainable", "total", "batch", "source"],
                    [
                        [
                            escape(r["name"]),
                            escape(r["description"]),
                            r["task"],
                            r["trainable_params"],
                            r["total_params"],
                            r["batch_size"],
                            escape(r["source"]),
                        ]
                        for r in rows
                    ],
                )
            ),
        )


def register(app: typer.Typer) -> None:
    app.command()(run)
    app.command()(export)
    app.add_typer(models_app, name="models")
