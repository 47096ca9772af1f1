"""`flint-bench profiles build|show` and `flint-bench compat`."""

from __future__ import annotations

from pathlib import Path

import typer

from .output import FORMAT_OPTION_HELP, Format, console, fmt, print_json, rich_table

profiles_app = typer.Typer(
    help="Device profiles: result records aggregated per device model, OS and ML model.", no_args_is_help=True
)
DEFAULT_PROFILES = Path("profiles.parquet")


def _rows(frame) -> list[dict]:
    """JSON-ready rows (numpy scalars and arrays to Python)."""
    import json

    return json.loads(frame.to_json(orient="records"))


def _profile_table(frame, title: str):
    from rich.markup import escape  # device and model names are data, never markup

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
            "CPU %",
            "storage MB",
            "update MB",
        ],
        [
            [
                escape(str(r.device_model)),
                escape(f"{r.os} {r.os_version}"),
                escape(str(r.model)),
                r.n_samples,
                fmt(r.per_example_s_mean * 1e3, ".4g"),
                fmt(r.per_example_s_p50 * 1e3, ".4g"),
                fmt(r.per_example_s_p99 * 1e3, ".4g"),
                fmt(r.per_example_s_mean * 5000, ".3g"),
                fmt(r.peak_memory_mb),
                fmt(r.cpu_mean_percent, ".0f"),
                fmt(r.storage_bytes / 1e6 if r.storage_bytes is not None else None, ".3f"),
                fmt(r.update_bytes / 1e6 if r.update_bytes is not None else None, ".3f"),
            ]
            for r in frame.itertuples(index=False)
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
    from ..core.errors import UserError
    from ..core.results import load_records
    from ..profiles import build_profiles, write_profiles

    records = load_records(results)
    frame = build_profiles(records)
    if frame.empty:
        failed = sum(r["status"] != "ok" for r in records)
        raise UserError(
            f"{results}: no ok result record to profile ({len(records)} records, {failed} failed). "
            "Run `flint-bench run --out DIR` and pass that folder."
        )
    write_profiles(frame, out)
    if format is Format.json:
        print_json({"out": str(out), "rows": len(frame), "records": len(records), "profiles": _rows(frame)})
    else:
        console.print(_profile_table(frame, f"device profiles · {len(records)} records → {out}"))


@profiles_app.command("show")
def show(
    path: Path = typer.Argument(DEFAULT_PROFILES, help="profiles Parquet"),
    model: list[str] | None = typer.Option(None, "--model", "-m", help="only these ML models (repeatable)"),
    format: Format = typer.Option(Format.table, "--format", help=FORMAT_OPTION_HELP),
) -> None:
    """Print a profiles table."""
    from ..profiles import read_profiles

    frame = read_profiles(path)
    if model:
        frame = frame[frame["model"].isin(model)]
    if format is Format.json:
        print_json(_rows(frame))
    else:
        console.print(_profile_table(frame, f"device profiles · {path}"))


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
    from ..profiles import check_compat, load_budgets, read_profiles

    b = load_budgets(budgets)
    for t in target or []:
        b.target(t, str(budgets))  # an unknown target is a user error naming the file
    frame = read_profiles(profiles)
    verdict = check_compat(frame, b, models=model, targets=target)
    summary = []
    for (t, m), g in verdict.groupby(["target", "model"], sort=True):
        ok, bad = g[g["compatible"]], g[~g["compatible"]]
        summary.append(
            {
                "target": t,
                "model": m,
                "compatible": len(ok),
                "incompatible": len(bad),
                "devices": [{"device_model": r.device_model, "os": r.os, "os_version": r.os_version} for r in ok.itertuples()],
                "excluded": [
                    {"device_model": r.device_model, "os": r.os, "os_version": r.os_version, "reasons": list(r.reasons)}
                    for r in bad.itertuples()
                ],
            }
        )
    if format is Format.json:
        print_json(
            {
                "profiles": str(profiles),
                "budgets": str(budgets),
                "targets": {name: vars(t) for name, t in b.targets.items() if not target or name in target},
                "summary": summary,
                "checks": _rows(verdict),
            }
        )
        return
    from rich.markup import escape

    console.print(
        rich_table(
            escape(f"compatibility · {profiles} vs {budgets}"),
            ["target", "model", "device model", "OS", "worst-case task s", "memory MB", "storage MB", "verdict"],
            [
                [
                    escape(r.target),
                    escape(str(r.model)),
                    escape(str(r.device_model)),
                    escape(f"{r.os} {r.os_version}"),
                    fmt(r.task_seconds, ".3g"),
                    fmt(r.peak_memory_mb),
                    fmt(r.storage_mb, ".3f"),
                    "[green]ok[/]" if r.compatible else "[red]no[/]: " + escape("; ".join(r.reasons)),
                ]
                for r in verdict.itertuples(index=False)
            ],
        )
    )
    for s in summary:
        console.print(
            escape(f"{s['target']} / {s['model']}")
            + f": {s['compatible']} device model/OS pair(s) may run it, {s['incompatible']} may not"
        )


def register(app: typer.Typer) -> None:
    app.add_typer(profiles_app, name="profiles")
    app.command("compat")(compat)
