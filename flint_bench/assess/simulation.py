"""Deployability per model and target, the simulations, and the forecast.

Deployable: a device model of the log whose measured stand-in (the coverage mapping) passes the
target's device budgets, on a platform the target ships to; a session is deployable when its device
is and its OS version meets the target's minimum. The simulator then replays, per model, target and
mode, the eligible sessions of deployable devices, each device with its measured stand-in's profile
(the trace's device_model is rewritten to the profile's name).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..budgets import Target
from ..core.fileio import read_json, write_json_atomic
from ..core.units import MB
from ..simulator.forecast import spread
from .cache import Stage, StageResult, key_of
from .config import AssessConfig, sim_raw

if TYPE_CHECKING:
    import pandas as pd

Say = Callable[[str], None]


def _device_ok(compat: list[dict[str, Any]], model: str, target: str) -> dict[str, bool]:
    """Measured device -> passes the target's device budgets (every OS build of it: worst case)."""
    ok: dict[str, bool] = {}
    for row in compat:
        if row["model"] == model and row["target"] == target:
            ok[row["device_model"]] = ok.get(row["device_model"], True) and bool(row["device_ok"])
    return ok


def deployable_sessions(
    sessions: pd.DataFrame, mapping: pd.DataFrame, device_ok: dict[str, bool], target: Target
) -> tuple[np.ndarray, dict[str, Any]]:
    """Which sessions a target reaches, and the shares of device models and sessions it reaches."""
    measured = dict(zip(zip(mapping["platform"].astype(str), mapping["device_model"].astype(str), strict=True),
                        mapping["measured_device"], strict=True))  # fmt: skip

    def model_ok(platform: str, device_model: str) -> bool:
        stand_in = measured.get((platform, device_model))
        return bool(
            stand_in is not None and isinstance(stand_in, str) and device_ok.get(stand_in) and target.allows_platform(platform)
        )

    import pandas as pd

    models_ok = [model_ok(str(p), str(m)) for p, m in zip(mapping["platform"], mapping["device_model"], strict=True)]
    keys = sessions[["platform", "device_model", "os_version"]].astype(str)
    uniq = keys.drop_duplicates()
    ok = [model_ok(p, m) and target.os_version_problem(p, v) is None for p, m, v in uniq.itertuples(index=False)]
    lut = pd.Series(ok, index=pd.MultiIndex.from_frame(uniq), dtype=bool)
    rows = lut.reindex(pd.MultiIndex.from_frame(keys)).to_numpy(dtype=bool)
    shares = {
        "device_models": len(models_ok),
        "deployable_device_models": int(sum(models_ok)),
        "device_model_share": sum(models_ok) / len(models_ok) if models_ok else None,
        "session_share": float(rows.mean()) if len(rows) else None,
    }
    return rows, shares


def simulation_stage(
    cfg: AssessConfig, prof: StageResult, compat: StageResult, cov: StageResult, elig: StageResult, say: Say
) -> Stage:
    parts = {
        "profiles": prof.key,
        "compat": compat.key,
        "coverage": cov.key,
        "eligibility": elig.key,
        "config": cfg.section("models", "modes", "trials", "target_metric", "simulator"),
    }

    def run(folder: Path) -> dict[str, Any]:
        import pandas as pd

        from ..eligibility import read_sessions
        from ..simulator.experiment import simulate

        traces = pd.read_parquet(elig.doc["traces"])
        rows = read_json(compat.doc["compat"], "compat table")
        mapping = pd.read_parquet(cov.doc["mapping"])
        sessions = read_sessions(elig.doc["sessions_file"], {"platform", "device_model", "os_version"})
        runs: list[dict[str, Any]] = []
        done: dict[str, dict[str, Any]] = {}  # trace+config hash -> summary: identical runs run once
        for model in cfg.models:
            for target_name, target_doc in compat.doc["targets"].items():
                target = Target(**{k: v for k, v in target_doc.items() if k in Target.__dataclass_fields__})
                entry: dict[str, Any] = {"model": model, "target": target_name, "deploy": None, "modes": {}}
                trace = traces
                if mapping is not None:
                    ok = _device_ok(rows, model, target_name)
                    _, entry["deploy"] = deployable_sessions(sessions, mapping, ok, target)
                    trace_ok, _ = deployable_sessions(traces, mapping, ok, target)
                    stand_in = {
                        (str(p), str(m)): s
                        for p, m, s in mapping[["platform", "device_model", "measured_device"]].itertuples(index=False)
                    }
                    trace = traces[trace_ok].copy()
                    trace["device_model"] = [
                        stand_in[(str(p), str(m))] for p, m in zip(trace["platform"], trace["device_model"], strict=True)
                    ]
                entry["eligible_deployable_devices"] = int(trace["device_id"].nunique())
                if trace.empty:
                    entry["not_simulated"] = "no eligible session on a deployable device"
                    runs.append(entry)
                    continue
                trace_key = str(pd.util.hash_pandas_object(trace, index=False).sum())
                for mode in cfg.modes:
                    key = key_of({"trace": trace_key, "model": model, "mode": mode, "config": parts["config"]})
                    run_dir = folder / key
                    if key not in done:
                        trace_path = run_dir / "trace.parquet"
                        run_dir.mkdir(parents=True, exist_ok=True)
                        trace.to_parquet(trace_path, index=False)
                        say(f"  simulate {model} {mode} ({target_name}): {len(trace)} sessions, {cfg.trials} trial(s)")
                        raw = sim_raw(cfg, model, mode, Path(prof.doc["profiles"]), trace_path)
                        done[key] = simulate(raw, cfg.file, out=run_dir).summary
                    entry["modes"][mode] = {"run": str(run_dir), **_figures(done[key])}
                runs.append(entry)
        write_json_atomic(folder / "runs.json", runs)
        return {"runs": runs}

    return parts, run


def _figures(summary: dict[str, Any]) -> dict[str, Any]:
    """What the decision reads of one simulation: median [min-max] over trials."""
    m, trials = summary["metrics"], summary["per_trial"]
    gaps = [
        t["centralized_metric"] - t["final_metric"]
        for t in trials
        if t.get("centralized_metric") is not None and t.get("final_metric") is not None
    ]
    gb = [t["aggregator_mb_per_s"] * t["virtual_hours"] * 3600 / 1000 for t in trials if t.get("aggregator_mb_per_s") is not None]
    return {
        "trials": summary["trials"],
        "metric_name": summary["metric_name"],
        "target_metric": summary["target_metric"],
        "hours_to_target": m["virtual_hours_to_target"],
        "virtual_hours": m["virtual_hours"],
        "tasks_started": m["tasks_started"],
        "tasks_succeeded": m["tasks_succeeded"],
        "device_hours": m["client_compute_hours"],
        "updates_per_s": m["aggregator_updates_per_s"],
        "mb_per_s": m["aggregator_mb_per_s"],
        "peak_updates_per_s": m["peak_hour_updates_per_s"],
        "peak_mb_per_s": spread([t["forecast"]["peak_hour_mb_per_s"] for t in trials]),
        "final_metric": m["final_metric"],
        "centralized_metric": m["centralized_metric"],
        "metric_gap": spread(gaps),
        "aggregator_gb": spread(gb),
        "update_mb": (summary["update_bytes"] / MB) if summary.get("update_bytes") else None,
        "device_classes": summary["device_classes"],
    }


def forecast_stage(cfg: AssessConfig, sim: StageResult, bench: StageResult) -> Stage:
    """Money per model, target and mode, when rates are given: farm time of the benchmarks and GB at the aggregator."""

    def run(folder: Path) -> dict[str, Any]:
        c = cfg.cost
        out = []
        for entry in sim.doc["runs"]:
            farm_hours = bench.doc["farm_device_hours"].get(entry["model"])
            money: dict[str, Any] = {"currency": c.currency, "farm": None, "aggregator": {}}
            if c.farm_device_hour is not None and farm_hours is not None:
                money["farm"] = farm_hours * c.farm_device_hour
            for mode, fig in entry["modes"].items():
                gb = fig["aggregator_gb"]
                money["aggregator"][mode] = (
                    {k: (v * c.aggregator_gb if k != "n" and v is not None else v) for k, v in gb.items()}
                    if c.aggregator_gb is not None
                    else None
                )
            out.append({"model": entry["model"], "target": entry["target"], "farm_device_hours": farm_hours, "money": money})
        write_json_atomic(folder / "forecast.json", out)
        return {"forecast": out}

    return {"simulation": sim.key, "benchmark": bench.key, "cost": cfg.section("cost")}, run
