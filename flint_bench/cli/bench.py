"""`flint-bench run`, `export` and `models list`."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..core.records import Record, seconds_per_5000

if TYPE_CHECKING:
    from ..report.table5 import Table5Row
from .output import FORMAT_OPTION_HELP, Format, Output, console, err_console, fmt, output_handler, rich_table


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
) -> None:
    """Export the models, train them on every device of a farm, and print a Table-5-style summary."""
    from ..core.config import check_instance
    from ..farms import farm_file_or_default, open_farm
    from ..report.table5 import table5
    from ..runner import run_benchmarks
    from ..zoo import load_models

    with output_handler(format, quiet) as output:
        farm_file = farm_file_or_default(farm)
        overrides: dict[str, Any] = dict(
            examples=examples, repeats=repeats, batch_size=batch_size, warmup_steps=warmup, sustained_minutes=sustained
        )
        settings = replace(farm_file.run, **{k: v for k, v in overrides.items() if v is not None})
        # the flags obey the bounds the farm file's [run] table obeys
        flags = {
            "examples": "--examples",
            "repeats": "--repeats",
            "batch_size": "--batch-size",
            "warmup_steps": "--warmup",
            "sustained_minutes": "--sustained",
        }
        check_instance(
            settings,
            f"{farm_file.path or 'the built-in local farm'} with the command-line flags",
            prefix="run.",
            keys={f"run.{k}": v for k, v in flags.items() if overrides[k] is not None},
        )
        models = load_models(model)
        progress = _progress(output)
        with open_farm(farm_file) as the_farm, progress:
            devices = the_farm.devices()
            task = progress.add_task("benchmarking", total=len(models) * len(devices))

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

            outcome = run_benchmarks(
                the_farm,
                models,
                settings,
                out,
                resume=resume,
                devices=devices,
                on_export=on_export,
                on_record=on_record,
                on_note=lambda text: progress.console.print(text, markup=False, highlight=False),
            )
            progress.advance(task, outcome.skipped)  # pairs --resume found finished
        rows = table5(outcome.records)
        document = {
            "out": str(outcome.out_dir),
            "table": str(outcome.table),
            "summary": [row.as_dict() for row in rows],
            "failures": [
                {"model": r["model"]["name"], "device": r["device"]["id"], **(r["error"] or {})} for r in outcome.failed
            ],
            "skipped": outcome.skipped,
            "wall_seconds": outcome.wall_seconds,
            "export_seconds": outcome.export_seconds,
        }

        def render() -> None:
            title = f"flint-bench · farm {farm_file.name} · {settings.examples} examples × {settings.repeats} repeats"
            console.print(table5_table(rows, title))
            console.print(
                f"results: {outcome.out_dir}/ ({len(outcome.records)} records, table {outcome.table.name})"
                + (f", {outcome.skipped} skipped (--resume)" if outcome.skipped else "")
            )

        output.result(document, render)
    if outcome.failed:
        raise typer.Exit(1)


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
