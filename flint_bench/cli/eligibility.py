"""`flint-bench sessions synth` and `flint-bench eligibility`."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape  # names and values come from the user's files: never markup
from rich.table import Table

from .output import FORMAT_OPTION_HELP, Format, console, err_console, output_handler, rich_table

sessions_app = typer.Typer(help="Session logs: the schema eligibility rules run on, and synthetic logs.", no_args_is_help=True)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


@sessions_app.command("synth")
def synth(
    devices: int = typer.Option(10_000, "--devices", "-n", min=1, help="number of devices (one user each)"),
    days: int = typer.Option(7, "--days", "-d", min=1, help="days of logs"),
    out: Path = typer.Option(Path("sessions.parquet"), "--out", "-o", help="output file: .parquet (fast) or .csv"),
    seed: int = typer.Option(0, "--seed", help="random seed (same seed, same log)"),
    start: str = typer.Option("2024-01-01", "--start", help="UTC date of the log's first day (YYYY-MM-DD)"),
    ios_share: float = typer.Option(0.45, "--ios-share", min=0.0, max=1.0, help="share of iOS devices"),
    format: Format = typer.Option(Format.table, "--format", help=FORMAT_OPTION_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress output"),
) -> None:
    """Write a realistic synthetic session log: diurnal availability (daily troughs near 15% of the
    weekly peak), a concentrated iOS and a long-tailed Android device mix, tail-heavy sessions."""
    from ..eligibility.synth import synth_settings, write_synthetic_log

    with output_handler(format, quiet) as output:
        settings = synth_settings(devices=devices, days=days, seed=seed, start=start, ios_share=ios_share)
        status = err_console.status(f"synthesizing {devices:,} devices x {days} days…")
        with status if output.show_progress else contextlib.nullcontext():
            summary = write_synthetic_log(settings, out)
        output.result(summary, render=lambda: console.print(_synth_table(summary, out)))


def _synth_table(summary: dict[str, Any], out: Path) -> Table:
    return rich_table(
        f"synthetic session log · {escape(str(out))}",
        ["", ""],
        [
            ["devices", f"{summary['devices']:,}"],
            # eligibility counts the devices that appear in the log: say how many that is, and why
            [
                "devices with a session",
                f"{summary['devices_with_sessions']:,} (the others had no session in {summary['days']} days; "
                "eligibility counts only devices in the log)",
            ],
            ["sessions", f"{summary['sessions']:,}"],
            ["days", summary["days"]],
            ["iOS share", _pct(summary["ios_share"])],
            ["device models", f"{summary['device_models']['iOS']} iOS, {summary['device_models']['Android']} Android"],
            ["top iOS model share", _pct(summary["top_model_share"]["iOS"])],
            ["top Android model share", _pct(summary["top_model_share"]["Android"])],
            ["median / p99 session", f"{summary['session_seconds_p50']:.0f} s / {summary['session_seconds_p99']:.0f} s"],
            ["daily trough / weekly peak (sessions active per hour)", f"{summary['trough_to_peak']:.2f}"],
            ["seconds / peak RSS", f"{summary['seconds']} s / {summary['peak_rss_mb']} MB"],
        ],
    )


def eligibility(
    sessions: Path = typer.Option(..., "--sessions", "-s", help="session log (.parquet or .csv; schema in docs/eligibility.md)"),
    rules: Path = typer.Option(..., "--rules", "-r", help="rules TOML (see configs/rules.toml)"),
    profiles: Path | None = typer.Option(None, "--profiles", "-p", help="device profiles Parquet, for compat criteria"),
    budgets: Path | None = typer.Option(
        None, "--budgets", "-b", help="budgets TOML for compat criteria (default: the rules' `budgets` key)"
    ),
    traces_out: Path | None = typer.Option(
        None, "--traces-out", help="write availability traces (device_id, start, end, ...) of eligible sessions: .parquet or .csv"
    ),
    device_map: Path | None = typer.Option(
        None,
        "--device-map",
        help="CSV `pattern,measured_device` or TOML \\[\\[map]]: which measured device stands for which user device",
    ),
    fail_on_warning: bool = typer.Option(False, "--fail-on-warning", help="exit 1 when a fairness warning is raised"),
    strict: bool = typer.Option(
        False, "--strict", help="exit 1 when no device of the log maps to a measured one, or a compat criterion matches none"
    ),
    json_out: Path | None = typer.Option(
        None,
        "--json-out",
        help="also write the JSON document (what --format json prints) to this file, e.g. for `report --eligibility`",
    ),
    format: Format = typer.Option(Format.table, "--format", help=FORMAT_OPTION_HELP),
) -> None:
    """The Table 1 funnel: each criterion's share of devices alone and all together, per
    sub-population, with fairness warnings; optionally the availability traces for the simulator.
    With --profiles, the device coverage: which measured device stands for each device model of the
    log (exact name, --device-map, or the nearest of the same platform and tier) and the shares covered."""
    from .. import api
    from ..core.fileio import write_json_atomic

    with output_handler(format) as output:
        run = api.eligibility(sessions, rules, profiles=profiles, budgets=budgets, traces_out=traces_out, device_map=device_map)
        if json_out is not None:
            write_json_atomic(json_out, run.document)
        output.result(run.document, render=lambda: _print_funnel(run.document))
        for warning in run.document["warnings"]:  # on stderr in every format: a JSON reader sees them in `warnings`
            err_console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    if fail_on_warning and run.funnel.fairness_warnings:
        raise typer.Exit(1)
    if strict and run.document["warnings"]:
        raise typer.Exit(1)


def _print_funnel(doc: dict[str, Any]) -> None:
    rows = [
        [
            escape(c["name"]),
            c["family"],
            escape(c["rule"]),
            f"{c['devices_alone']:,}",
            _pct(c["share_alone"]),
            _pct(c["session_share_alone"]),
            _pct(c["cumulative_share"]),
        ]
        for c in doc["criteria"]
    ]
    rows.append(
        [
            escape(f"all of: {', '.join(doc['all_of'])}"),
            "",
            "",
            f"{doc['all_criteria_devices']:,}",
            _pct(doc["all_criteria_share"]),
            _pct(doc["all_criteria_session_share"]),
            _pct(doc["all_criteria_share"]),
        ]
    )
    unit = "devices" if doc["unit"] == "device" else "device-days"
    units = "" if doc["unit"] == "device" else f" ({doc['units']:,} device-days)"
    console.print(
        rich_table(
            # a device with no session is not in the log: the count is of devices seen, not of a synth's --devices
            f"eligibility funnel · {doc['devices']:,} devices with a session in the log{units}, {doc['sessions']:,} sessions",
            ["criterion", "family", "rule", unit, f"share of {unit}", "share of sessions", "cumulative"],
            rows,
        )
    )
    names = [escape(c["name"]) for c in doc["criteria"]]
    sub_rows = [
        [
            s["dimension"],
            escape(s["value"]),
            f"{s['devices']:,}",
            *[_pct(c["share_alone"]) for c in s["criteria"]],
            _pct(s["all_criteria_share"]),
        ]
        for s in doc["subpopulations"]
    ]
    console.print(rich_table(f"per sub-population (share of {unit})", ["dimension", "value", "devices", *names, "all"], sub_rows))
    for w in doc["fairness_warnings"]:
        console.print(f"[yellow]fairness warning:[/] {escape(w['message'])}", highlight=False)
    if not doc["fairness_warnings"]:
        console.print(
            f"no fairness warning (every sub-population of >= {doc['fairness']['min_devices']} devices keeps "
            f">= {doc['fairness']['min_ratio']:g} x the overall share)"
        )
    a = doc["availability"]
    if a["trough_to_peak"] is not None:
        console.print(
            f"eligible sessions active per hour: peak {a['peak']:,}; daily trough / weekly peak {a['trough_to_peak']:.2f}"
        )
    if "coverage" in doc:
        _print_coverage(doc["coverage"])
    if "traces" in doc:
        t = doc["traces"]
        console.print(f"availability traces: {escape(t['file'])} ({t['rows']:,} sessions of {t['devices']:,} devices)")


def _shares(shares: dict[str, float]) -> list[str]:
    return [_pct(shares[k]) for k in ("exact", "file", "attributes", "unknown")]


def _print_coverage(c: dict[str, Any]) -> None:
    """How much of the log the measured devices cover: per platform x tier, by how it is mapped."""
    rows = [
        [
            escape(g["platform"]),
            escape(g["device_tier"]),
            f"{g['devices']:,}",
            *_shares(g["device_share"]),
            *_shares(g["session_share"]),
        ]
        for g in c["by_group"]
    ]
    rows.append(["all", "", f"{c['devices']:,}", *_shares(c["device_share"]), *_shares(c["session_share"])])
    kinds = ["exact", "file", "attributes", "unknown"]
    console.print(
        rich_table(
            f"device coverage · {len(c['measured_devices'])} measured device(s), {c['device_models']:,} device models in the log",
            ["platform", "tier", "devices", *[f"devices {k}" for k in kinds], *[f"sessions {k}" for k in kinds]],
            rows,
        )
    )
    if c["unmapped"]:
        shown = ", ".join(c["unmapped"][:10]) + (f" and {len(c['unmapped']) - 10:,} more" if len(c["unmapped"]) > 10 else "")
        console.print(f"unmapped device models (most sessions first): {escape(shown)}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(sessions_app, name="sessions")
    app.command("eligibility")(eligibility)
