"""`flint-bench run`, `export` and `models list`."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .output import FORMAT_OPTION_HELP, Format, console, err_console, fmt, print_json, rich_table


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
    out: Path = typer.Option(Path("results"), "--out", "-o", help="results folder (JSON per model x device + results.parquet)"),
    resume: bool = typer.Option(False, "--resume", help="skip (model, device) pairs that already have an ok result in --out"),
    format: Format = typer.Option(Format.table, "--format", help=FORMAT_OPTION_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress output"),
) -> None:
    """Export the models, train them on every device of a farm, and print a Table-5-style summary."""
    from ..farms import farm_file_or_default, open_farm
    from ..runner import run_benchmarks
    from ..summary import table5
    from ..zoo import load_models

    farm_file = farm_file_or_default(farm)
    overrides = {
        k: v
        for k, v in dict(examples=examples, repeats=repeats, batch_size=batch_size, warmup_steps=warmup).items()
        if v is not None
    }
    settings = replace(farm_file.run, **overrides)
    models = load_models(model)
    the_farm = open_farm(farm_file)
    show = not quiet and format is Format.table
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=not show,
        transient=False,
    )
    devices = the_farm.devices()
    task = progress.add_task("benchmarking", total=len(models) * len(devices))

    def on_export(name, artifacts):
        state = (
            "failed" if artifacts is None else ("cached" if artifacts.cached else f"exported in {artifacts.export_seconds:.1f} s")
        )
        progress.console.print(f"export {name}: {state}", highlight=False)

    def on_record(record):
        r, t = record, record["timing"].get("seconds_per_5000") or {}
        status = (
            f"{fmt(t.get('mean'))} s/5000"
            if r["status"] == "ok"
            else f"[red]FAILED[/] {escape(r['error']['kind'])}: {escape(r['error']['message'].splitlines()[0][:160])}"
        )
        progress.console.print(f"{escape(r['model']['name'])} on {escape(r['device']['id'])}: {status}", highlight=False)
        progress.advance(task)

    try:
        with progress:
            outcome = run_benchmarks(
                the_farm, models, settings, out, resume=resume, devices=devices, on_export=on_export, on_record=on_record
            )
            progress.advance(task, outcome.skipped)  # pairs --resume found finished
    finally:
        the_farm.close()
    rows = table5(outcome.records)
    if format is Format.json:
        print_json(
            {
                "out": str(outcome.out_dir),
                "table": str(outcome.table),
                "summary": rows,
                "failures": [{"model": r["model"]["name"], "device": r["device"]["id"], **r["error"]} for r in outcome.failed],
                "skipped": outcome.skipped,
                "wall_seconds": outcome.wall_seconds,
                "export_seconds": outcome.export_seconds,
            }
        )
    else:
        console.print(
            table5_table(rows, f"flint-bench · farm {farm_file.name} · {settings.examples} examples × {settings.repeats} repeats")
        )
        console.print(
            f"results: {outcome.out_dir}/ ({len(outcome.records)} records, table {outcome.table.name})"
            + (f", {outcome.skipped} skipped (--resume)" if outcome.skipped else "")
        )
    if outcome.failed:
        raise typer.Exit(1)


def table5_table(rows: list[dict], title: str):
    from ..summary import human_params

    return rich_table(
        title,
        ["model", "trainable", "storage MB", "network MB", "memory MB", "mean s/5000", "stdev s", "CPU %", "ok/failed"],
        [
            [
                escape(r["model"]),
                human_params(r["trainable_params"]),
                fmt(r["storage_mb"], ".3f"),
                fmt(r["network_mb"], ".2f"),
                fmt(r["memory_mb"]),
                fmt(r["mean_s_per_5000"]),
                fmt(r["std_s_per_5000"]),
                fmt(r["mean_cpu_percent"]),
                f"{r['devices_ok']}/{r['devices_failed']}",
            ]
            for r in rows
        ],
    )


def export(
    model: list[str] | None = typer.Option(None, "--model", "-m", help="zoo model name or path/to/file.py:build; default all"),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="copy the artifacts and manifests here (they always go to the cache)"
    ),
    format: Format = typer.Option(Format.table, "--format", help=FORMAT_OPTION_HELP),
) -> None:
    """Export ExecuTorch training + inference programs and ONNX models (cached by content)."""
    from dataclasses import asdict

    from ..export import ExportError, export_model
    from ..zoo import load_models

    rows, failed = [], False
    for m in load_models(model):
        try:
            art = export_model(m)
        except ExportError as e:
            failed = True
            rows.append({"model": m.name, "error": str(e)})
            if format is Format.table:
                err_console.print(f"[red]export {escape(m.name)} failed:[/] {escape(str(e))}")
            continue
        folder = art.folder
        if out:
            folder = out / m.name
            shutil.copytree(art.folder, folder, dirs_exist_ok=True)
        rows.append(
            {
                "model": m.name,
                "cached": art.cached,
                "folder": str(folder),
                "export_seconds": art.export_seconds,
                "artifacts": {f: asdict(man) for f, man in art.manifests.items()},
            }
        )
    if format is Format.json:
        print_json(rows)
    else:
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
    if failed:
        raise typer.Exit(1)


models_app = typer.Typer(help="The model zoo (models/) and your own model files.", no_args_is_help=True)


@models_app.command("list")
def models_list(format: Format = typer.Option(Format.table, "--format", help=FORMAT_OPTION_HELP)) -> None:
    """Each zoo model with trainable/total params, task and batch size."""
    from ..zoo import load_models

    rows = [
        {
            "name": m.name,
            "description": m.description,
            "task": m.task,
            "trainable_params": m.trainable_params,
            "total_params": m.total_params,
            "update_bytes": m.update_bytes,
            "batch_size": m.batch_size,
            "source": str(m.source),
        }
        for m in load_models(None)
    ]
    if format is Format.json:
        print_json(rows)
    else:
        console.print(
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
        )


def register(app: typer.Typer) -> None:
    app.command()(run)
    app.command()(export)
    app.add_typer(models_app, name="models")
