"""`flint-bench simulate`: project FL training (FedAvg / FedBuff) under measured device constraints."""

from __future__ import annotations

import contextlib
import enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from .output import FORMAT_OPTION_HELP, MLFLOW_OPTION_HELP, Format, console, err_console, fmt, output_handler, rich_table

if TYPE_CHECKING:
    from ..simulator.progress import ProgressBar
    from ..simulator.sweep import SweepResult


class Backend(str, enum.Enum):
    local = "local"
    ray = "ray"


ROWS = [
    ("virtual_hours_to_target", "virtual hours to target", ".2f"),
    ("metric_at_budget", "metric at time budget", ".4f"),
    ("virtual_hours", "virtual hours simulated", ".2f"),
    ("rounds", "rounds", ".0f"),
    ("aggregations", "aggregations", ".0f"),
    ("tasks_started", "client tasks started", ".0f"),
    ("tasks_succeeded", "  succeeded (aggregated)", ".0f"),
    ("tasks_interrupted", "  interrupted", ".0f"),
    ("tasks_timed_out", "  timed out", ".0f"),
    ("tasks_stale", "  stale / straggler", ".0f"),
    ("client_compute_hours", "client compute hours", ".3f"),
    ("aggregator_updates_per_s", "aggregator updates/s", ".3f"),
    ("aggregator_mb_per_s", "aggregator MB/s", ".4f"),
    ("peak_hour_updates_per_s", "busiest-hour updates/s", ".3f"),
    ("seconds_per_aggregation", "virtual s per aggregation", ".1f"),
    ("final_metric", "final metric", ".4f"),
    ("centralized_metric", "centralized baseline metric", ".4f"),
]

SWEEP_COLUMNS = [
    ("virtual_hours_to_target", "hours to target", ".2f"),
    ("seconds_per_aggregation", "s/aggregation", ".1f"),
    ("aggregations", "aggregations", ".0f"),
    ("tasks_started", "started", ".0f"),
    ("tasks_succeeded", "succeeded", ".0f"),
    ("tasks_interrupted", "interrupted", ".0f"),
    ("tasks_stale", "stale", ".0f"),
    ("client_compute_hours", "compute h", ".3f"),
    ("final_metric", "final metric", ".4f"),
]


def summary_table(summary: dict[str, Any]) -> Table:
    m = summary["metrics"]
    rows = [
        [label, fmt(m[k]["median"], spec), fmt(m[k]["min"], spec), fmt(m[k]["max"], spec), f"{m[k]['n']}/{summary['trials']}"]
        for k, label, spec in ROWS
        if (m[k]["n"] or k in ("virtual_hours_to_target",)) and not (k == "tasks_timed_out" and not m[k]["max"])
    ]
    title = (
        f"{summary['mode']} · model {summary['model']} ({summary['metric_name']}) · {summary['trials']} trial(s) · "
        f"{summary['proxy'].get('population', summary['proxy']).get('clients')} clients · backend {summary['backend']}"
    )
    return rich_table(title, ["", "median", "min", "max", "trials"], rows)


def show_summary(summary: dict[str, Any], out: Path | None) -> None:
    console.print(summary_table(summary))
    by_class = summary["compute_hours_by_class"]
    if len(by_class) > 1:
        console.print(
            rich_table(
                "client compute hours by device class",
                ["device class", "median", "min", "max"],
                [[n, fmt(v["median"], ".4f"), fmt(v["min"], ".4f"), fmt(v["max"], ".4f")] for n, v in by_class.items()],
            )
        )
    show_population(summary.get("population") or {})
    if out:
        console.print(f"written: {out}/summary.json, {out}/metrics.parquet")


def percent(share: float) -> str:
    return f"{100 * share:.1f}%"


def show_population(population: dict[str, Any]) -> None:
    """How the trace's devices became proxy clients, and how much of them the measured profiles cover."""
    if population.get("trace"):
        console.print(population["trace"]["description"], highlight=False, markup=False, soft_wrap=True)
    coverage = population.get("coverage")
    if not coverage:
        return
    console.print(
        rich_table(
            f"device coverage: {coverage['device_models']:,} device models, {coverage['devices']:,} devices, "
            f"{coverage['sessions']:,} sessions of the trace · measured: {', '.join(coverage['measured_devices']) or 'none'}",
            ["profile", "share of devices", "share of sessions"],
            [
                [kind, percent(share), percent(coverage["session_share"][kind])]
                for kind, share in coverage["device_share"].items()
            ],
        )
    )
    console.print(
        f"proxy clients with a measured profile: {population['clients_with_measured_profile']:,}; "
        f"on the fallback ({population['fallback']}): {population['clients_on_fallback']:,}",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


def warn(warnings: list[str], strict: bool) -> None:
    """Print each warning on stderr; with --strict a warning is a failure (exit 1)."""
    for text in warnings:
        err_console.print(f"warning: {text}", highlight=False, markup=False, soft_wrap=True)
    if strict and warnings:
        raise typer.Exit(1)


def sweep_table(result: SweepResult) -> Table:
    return rich_table(
        f"sweep · {len(result.rows)} combinations (medians over trials)",
        result.keys + [label for _, label, _ in SWEEP_COLUMNS],
        [
            [str(row["params"][k]) for k in result.keys] + [fmt(row[key], spec) for key, _, spec in SWEEP_COLUMNS]
            for row in result.rows
        ],
    )


def simulate(
    config: Path | None = typer.Option(
        None, "--config", "-c", help="simulator TOML (see configs/sim-*.toml); optional with --resume"
    ),
    trials: int | None = typer.Option(None, "--trials", "-t", min=1, help="override sim.trials"),
    backend: Backend = typer.Option(
        Backend.local,
        "--backend",
        help="local: executors on this machine (this process and worker processes when --executors > 1); ray: executors as Ray actors (extra 'ray')",
    ),
    executors: int | None = typer.Option(
        None,
        "--executors",
        "-e",
        min=1,
        max=1024,
        help="override sim.executors: executors training in parallel (this process and worker processes, one per core)",
    ),
    ray_address: str | None = typer.Option(
        None, "--ray-address", help="--backend ray: join this running cluster ('auto' after `ray start --head`, or host:port)"
    ),
    checkpoint_every: float | None = typer.Option(
        None,
        "--checkpoint-every",
        min=0.1,
        max=86_400,
        help="with --out: seconds between checkpoints (default sim.checkpoint_every_s, 30)",
    ),
    show_bar: bool | None = typer.Option(
        None, "--progress/--no-progress", help="a live progress bar (default: on a terminal, off with --quiet or --format json)"
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="write summary.json, metrics.parquet, proxy_metadata.json and checkpoints here"
    ),
    resume: Path | None = typer.Option(
        None, "--resume", help="continue the run checkpointed in this folder (it is also the output folder)"
    ),
    sweep: bool = typer.Option(
        False,
        "--sweep",
        help="run every combination of the config's sweep table (dotted key = list of values); writes sweep.parquet under --out",
    ),
    format: Format = typer.Option(Format.table, "--format", help=FORMAT_OPTION_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress output"),
    strict: bool = typer.Option(
        False, "--strict", help="exit 1 on a warning, e.g. a population whose device models match no measured device"
    ),
    mlflow: bool = typer.Option(False, "--mlflow", help=MLFLOW_OPTION_HELP),
) -> None:
    """Simulate FL training on a virtual clock: time to target, client tasks, device compute, aggregator load."""
    from ..api import log_simulation, log_sweep
    from ..core.errors import UserError
    from ..simulator.experiment import raw_config
    from ..simulator.experiment import simulate as run_simulation
    from ..simulator.sweep import run_sweep

    with output_handler(format, quiet) as shown:
        if resume is not None and sweep:
            raise UserError(
                "--resume continues one run; it cannot be combined with --sweep. Re-run the sweep (each combination's folder has its own checkpoint) or resume one sweep-NNN folder."
            )
        raw, file = raw_config(config, resume, trials)
        out = resume if resume is not None else out
        progress = shown.message if shown.show_progress else None
        if ray_address is not None and backend is not Backend.ray:
            raise UserError("--ray-address joins a Ray cluster: it needs --backend ray.")
        if sweep:
            result = run_sweep(raw, file, out, backend.value, progress)
            if mlflow:
                log_sweep(result, raw, shown.message)
            shown.result({"sweep": result.rows, "warnings": result.warnings}, render=lambda: console.print(sweep_table(result)))
            warn(result.warnings, strict)
            return
        bar = progress_bar(raw, file, trials, shown.show_progress if show_bar is None else show_bar and shown.is_table)
        with bar or contextlib.nullcontext():
            simulated = run_simulation(
                raw,
                file,
                out,
                backend.value,
                resume is not None,
                None if bar else progress,
                executors=executors,
                checkpoint_every_s=checkpoint_every,
                ray_address=ray_address,
                callbacks=[bar] if bar else [],
            )
        summary = simulated.summary
        if mlflow:
            log_simulation(simulated, raw, out, shown.message)
        shown.result(summary, render=lambda: show_summary(summary, out))
        warn(summary["warnings"], strict)


def progress_bar(raw: dict[str, Any], file: str, trials: int | None, wanted: bool) -> ProgressBar | None:
    """The live bar over trials and aggregations, on a terminal only (a pipe gets the plain messages)."""
    if not (wanted and err_console.is_terminal):
        return None
    from ..simulator.config import parse
    from ..simulator.progress import ProgressBar

    cfg = parse(raw, file)
    return ProgressBar(trials or cfg.sim.trials, cfg.sim.max_aggregations, err_console)


def register(app: typer.Typer) -> None:
    app.command()(simulate)
