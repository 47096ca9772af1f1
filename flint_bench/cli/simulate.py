"""`flint-bench simulate`: project FL training (FedAvg / FedBuff) under measured device constraints."""

from __future__ import annotations

import enum
import json
from pathlib import Path

import typer

from .output import FORMAT_OPTION_HELP, Format, console, err_console, print_json, rich_table


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


def _fmt(v, spec):
    return "-" if v is None else format(v, spec)


def summary_table(summary: dict):
    m = summary["metrics"]
    rows = [
        [label, _fmt(m[k]["median"], spec), _fmt(m[k]["min"], spec), _fmt(m[k]["max"], spec), f"{m[k]['n']}/{summary['trials']}"]
        for k, label, spec in ROWS
        if (m[k]["n"] or k in ("virtual_hours_to_target",)) and not (k == "tasks_timed_out" and not m[k]["max"])
    ]
    title = (
        f"{summary['mode']} · model {summary['model']} ({summary['metric_name']}) · {summary['trials']} trial(s) · "
        f"{summary['proxy'].get('population', summary['proxy']).get('clients')} clients · backend {summary['backend']}"
    )
    return rich_table(title, ["", "median", "min", "max", "trials"], rows)


def simulate(
    config: Path | None = typer.Option(
        None, "--config", "-c", help="simulator TOML (see configs/sim-*.toml); optional with --resume"
    ),
    trials: int | None = typer.Option(None, "--trials", "-t", min=1, help="override sim.trials"),
    backend: Backend = typer.Option(
        Backend.local, "--backend", help="local: executors in this process; ray: executors as Ray actors (extra 'ray')"
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
) -> None:
    """Simulate FL training on a virtual clock: time to target, client tasks, device compute, aggregator load."""
    from ..core.config import read_toml
    from ..core.errors import UserError
    from ..simulator.config import parse, sweep_grid, with_overrides
    from ..simulator.simulation import check_model_available, run

    if resume is not None and sweep:
        raise UserError(
            "--resume continues one run; it cannot be combined with --sweep. Re-run the sweep (each combination's folder has its own checkpoint) or resume one sweep-NNN folder."
        )
    if resume is not None:
        out = resume
        saved = resume / "config.json"
        if config is None:
            if not saved.is_file():
                raise UserError(f"--resume {resume}: no config.json there; pass --config with the original config.")
            raw, file = json.loads(saved.read_text()), str(saved)
        else:
            raw, file = read_toml(config), str(config)
    elif config is None:
        raise UserError("simulate needs --config path/to/sim.toml (examples: configs/sim-fedavg.toml, configs/sim-fedbuff.toml).")
    else:
        raw, file = read_toml(config), str(config)
    if trials is not None:
        raw = with_overrides(raw, {"sim.trials": trials})
    show = not quiet and format is Format.table
    say = (lambda msg: err_console.print(msg, highlight=False)) if show else None

    if sweep:
        grid = sweep_grid(raw, file)
        base = {k: v for k, v in raw.items() if k != "sweep"}
        configs = []
        for combo in grid:  # validate every combination before running any
            r = with_overrides(base, combo)
            configs.append((combo, r, parse(r, f"{file} (sweep {combo})")))
        check_model_available(configs[0][2])
        results = []
        for i, (combo, r, cfg) in enumerate(configs):
            if say:
                say(f"sweep {i + 1}/{len(configs)}: {combo}")
            s = run(cfg, r, out / f"sweep-{i:03d}" if out else None, backend.value, False, say)
            s.pop("_rows")
            results.append(
                {
                    "params": combo,
                    **{k: v["median"] for k, v in s["metrics"].items()},
                    **{f"{k}_min": v["min"] for k, v in s["metrics"].items()},
                    **{f"{k}_max": v["max"] for k, v in s["metrics"].items()},
                }
            )
        if out:
            import pandas as pd

            out.mkdir(parents=True, exist_ok=True)
            pd.DataFrame(
                [
                    {**{f"param.{k}": v for k, v in r["params"].items()}, **{k: v for k, v in r.items() if k != "params"}}
                    for r in results
                ]
            ).to_parquet(out / "sweep.parquet", index=False)
            (out / "sweep.json").write_text(json.dumps(results, indent=2, default=str))
        if format is Format.json:
            print_json({"sweep": results})
        else:
            keys = list(grid[0])
            console.print(
                rich_table(
                    f"sweep · {len(results)} combinations (medians over trials)",
                    keys
                    + [
                        "hours to target",
                        "s/aggregation",
                        "aggregations",
                        "started",
                        "succeeded",
                        "interrupted",
                        "stale",
                        "compute h",
                        "final metric",
                    ],
                    [
                        [str(r["params"][k]) for k in keys]
                        + [
                            _fmt(r["virtual_hours_to_target"], ".2f"),
                            _fmt(r["seconds_per_aggregation"], ".1f"),
                            _fmt(r["aggregations"], ".0f"),
                            _fmt(r["tasks_started"], ".0f"),
                            _fmt(r["tasks_succeeded"], ".0f"),
                            _fmt(r["tasks_interrupted"], ".0f"),
                            _fmt(r["tasks_stale"], ".0f"),
                            _fmt(r["client_compute_hours"], ".3f"),
                            _fmt(r["final_metric"], ".4f"),
                        ]
                        for r in results
                    ],
                )
            )
        return

    cfg = parse(raw, file)
    check_model_available(cfg)
    summary = run(cfg, raw, out, backend.value, resume is not None, say)
    summary.pop("_rows")
    if format is Format.json:
        print_json(summary)
    else:
        console.print(summary_table(summary))
        by_class = summary["compute_hours_by_class"]
        if len(by_class) > 1:
            console.print(
                rich_table(
                    "client compute hours by device class",
                    ["device class", "median", "min", "max"],
                    [[n, _fmt(v["median"], ".4f"), _fmt(v["min"], ".4f"), _fmt(v["max"], ".4f")] for n, v in by_class.items()],
                )
            )
        if out:
            console.print(f"written: {out}/summary.json, {out}/metrics.parquet")


def register(app: typer.Typer) -> None:
    app.command()(simulate)
