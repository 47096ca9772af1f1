"""`flint-bench profiles build|show` and `flint-bench compat`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape  # device and model names are data, never markup
from rich.table import Table

from ..core.units import MB
from .output import FORMAT_OPTION_HELP, Format, console, fmt, output_handler, rich_table

if TYPE_CHECKING:
    import pandas as pd

profiles_app = typer.Typer(
    help="Device profiles: result records aggregated per device model, OS and ML model.", no_args_is_help=True
)
DEFAULT_PROFILES = Path("profiles.parquet")


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready rows (numpy scalars and arrays to Python; NaN to null)."""
    rows: list[dict[str, Any]] = json.loads(frame.to_json(orient="records"))
    return rows


def _fmt(value: Any, spec: str = ".2f", scale: float = 1.0) -> str:
    """A table cell: missing, NaN or infinite shows as '-', never as 'nan'."""
    from ..core.stats import finite

    v = finite(value)
    return fmt(None if v is None else v * scale, spec)


def _verdict(row: dict[str, Any]) -> str:
    """ok, no (a limit broken, or the OS), or unknown (a limited figure missing: cannot judge)."""
    if row["compatible"]:
        return "[green]ok[/]"
    word = "[red]no[/]" if len(row["reasons"]) > len(row["unknown"]) else "[yellow]unknown[/]"
    return f"{word}: " + escape("; ".join(row["reasons"]))


def _profile_table(frame: pd.DataFrame, title: str) -> Table:
    return rich_table(
        escape(title),
        [
            "device model",
            "OS",
            "model",
            "samples",
            "per-example mean ms",
            "p50 ms",
            "p99 ms",
            "s / 5000 (mean)",
            "memory MB",
            "CPU % of device",
            "CPU % of 1 core",
            "storage MB",
            "update MB",
        ],
        [
            [
                escape(str(r["device_model"])),
                escape(f"{r['os']} {r['os_version']}"),
                escape(str(r["model"])),
                r["n_samples"],
                _fmt(r["per_example_s_mean"], ".4g", 1e3),
                _fmt(r["per_example_s_p50"], ".4g", 1e3),
                _fmt(r["per_example_s_p99"], ".4g", 1e3),
                _fmt(r["per_example_s_mean"], ".3g", 5000),
                _fmt(r["peak_memory_mb"]),
                _fmt(r.get("cpu_device_percent"), ".1f"),
                _fmt(r["cpu_mean_percent"], ".0f"),
                _fmt(r["storage_bytes"], ".3f", 1 / MB),
                _fmt(r["update_bytes"], ".3f", 1 / MB),
            ]
            for r in _rows(frame)
        ],
    )


@profiles_app.command("build")
def build(
    results: Path = typer.Option(..., "--results", "-r", help="results folder written by `flint-bench run`"),
    out: Path = typer.Option(DEFAULT_PROFILES, "--out", "-o", help="profiles Parquet to write"),
    format: Format = typer.Option(Format.table, "--format", help=FORMAT_OPTION_HELP),
) -> None:
    """Aggregate result records into device profiles (Parquet): per (device model, OS, ML model)
    the per-example training-time quantile sketch (q0..q100), peak memory, CPU %, storage, update size."""
    from .. import api

    with output_handler(format) as output:
        built = api.profiles(results, out)
        frame = built.frame
        output.result(
            {"out": str(out), "rows": len(frame), "records": built.records, "profiles": _rows(frame)},
            render=lambda: console.print(_profile_table(frame, f"device profiles · {built.records} records → {out}")),
        )


@profiles_app.command("show")
def show(
    path: Path = typer.Argument(DEFAULT_PROFILES, help="profiles Parquet"),
    model: list[str] | None = typer.Option(None, "--model", "-m", help="only these ML models (repeatable)"),
    format: Format = typer.Option(Format.table, "--format", help=FORMAT_OPTION_HELP),
) -> None:
    """Print a profiles table."""
    from .. import api

    with output_handler(format) as output:
        frame = api.profiles(path, models=model).frame
        output.result(_rows(frame), render=lambda: console.print(_profile_table(frame, f"device profiles · {path}")))


def compat(
    profiles: Path = typer.Option(DEFAULT_PROFILES, "--profiles", "-p", help="profiles Parquet (`flint-bench profiles build`)"),
    budgets: Path = typer.Option(
        Path("configs/budgets.toml"), "--budgets", "-b", help="budgets TOML with [targets.<name>] tables"
    ),
    model: list[str] | None = typer.Option(None, "--model", "-m", help="only these ML models (repeatable)"),
    target: list[str] | None = typer.Option(None, "--target", "-t", help="only these targets (repeatable)"),
    format: Format = typer.Option(Format.table, "--format", help=FORMAT_OPTION_HELP),
) -> None:
    """Per ML model and deployment target: which device models and OS versions may run it, and why
    the others may not (storage, memory, worst-case task time, CPU, minimum OS)."""
    from .. import api

    with output_handler(format) as output:
        result = api.compat(profiles, budgets, models=model, targets=target)
        output.result(
            result.to_dict(),
            render=lambda: _show_compat(result.checks, result.summary, f"compatibility · {profiles} vs {budgets}"),
        )


def _show_compat(verdict: pd.DataFrame, summary: list[dict[str, Any]], title: str) -> None:
    rows = [
        [
            escape(r["target"]),
            escape(str(r["model"])),
            escape(str(r["device_model"])),
            escape(f"{r['os']} {r['os_version']}"),
            _fmt(r["task_seconds"], ".3g"),
            _fmt(r["peak_memory_mb"]),
            _fmt(r["storage_mb"], ".3f"),
            _verdict(r),
        ]
        for r in _rows(verdict)
    ]
    columns = ["target", "model", "device model", "OS", "worst-case task s", "memory MB", "storage MB", "verdict"]
    console.print(rich_table(escape(title), columns, rows))
    for s in summary:
        console.print(
            escape(f"{s['target']} / {s['model']}")
            + f": {s['compatible']} device model/OS pair(s) may run it, {s['incompatible']} may not"
            + (f" ({s['unknown']} of them unknown: a limited figure not measured)" if s["unknown"] else "")
        )


def register(app: typer.Typer) -> None:
    app.add_typer(profiles_app, name="profiles")
    app.command("compat")(compat)
