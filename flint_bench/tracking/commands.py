"""What each command sends to MLflow (`--mlflow`): params, metrics, tags and artifacts.

run       parent: farm, settings, models; Table 5 figures per model. Nested run per model x device:
          the device's attributes (params), its figures (metrics), status (tag), the record (artifact).
simulate  parent: the config (dotted params), the summary's medians; summary.json. Nested run
          per trial: its figures and its curves over virtual time (step = virtual seconds).
gate      the settings, the verdict and per-check ratios and p-values; gate.json, Markdown, JUnit.
assess    the config, one nested run per model x target with the decision's figures;
          decision.json, decision.md, report.html.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .mlflow import Tracker

if TYPE_CHECKING:
    from ..assess.workflow import Assessment
    from ..farms.base import RunSettings
    from ..gate import GateRun
    from ..runner import RunOutcome
    from ..simulator.experiment import SimulationResult
    from ..simulator.sweep import SweepResult


def flat_numbers(value: Any, prefix: str = "") -> dict[str, float]:
    """Every finite number of a JSON-like document under its dotted path (lists by index)."""
    out: dict[str, float] = {}
    items: Any = value.items() if isinstance(value, Mapping) else enumerate(value) if isinstance(value, list) else None
    if items is None:
        if isinstance(value, int | float) and not isinstance(value, bool) and value == value and abs(value) != float("inf"):
            out[prefix.rstrip(".")] = float(value)
        return out
    for key, item in items:
        out |= flat_numbers(item, f"{prefix}{key}.")
    return out


def track_run(tracker: Tracker, outcome: RunOutcome, settings: RunSettings, farm: str, models: list[str]) -> None:
    from ..core.results import flatten
    from ..report.table5 import table5

    tracker.params({"farm": farm, "models": models, "settings": asdict(settings), "out": str(outcome.out_dir)})
    summary = {row.model: row.as_dict() for row in table5(outcome.records)}
    tracker.metrics(
        flat_numbers(summary)
        | {"records": len(outcome.records), "failed": len(outcome.failed), "wall_seconds": outcome.wall_seconds}
    )
    for record in outcome.records:
        model, device = record["model"]["name"], record["device"]["id"]
        with tracker.child(f"{model} on {device}") as child:
            row = flatten(record)
            child.params(
                {"model": model, "device": device}
                | {k: v for k, v in row.items() if k.startswith("device_") and not isinstance(v, int | float)}
            )
            child.metrics({k: v for k, v in row.items() if not isinstance(v, list)})
            child.tags({"status": record["status"], "error_kind": record["error"]["kind"] if record["error"] else None})
            child.document("record.json", record)


def track_simulation(tracker: Tracker, result: SimulationResult, raw: Mapping[str, Any], out: Path | None) -> None:
    summary = result.summary
    tracker.params({"config": raw, "model": summary["model"], "mode": summary["mode"], "backend": summary["backend"]})
    tracker.metrics(flat_numbers(summary["metrics"]) | {"wall_seconds": summary["wall_seconds"]})
    tracker.tags({"warnings": len(summary["warnings"])})
    tracker.document("summary.json", summary)
    for trial, figures in enumerate(summary["per_trial"]):
        with tracker.child(f"trial {trial}") as child:
            child.params({"trial": trial, "model": summary["model"], "mode": summary["mode"]})
            child.metrics(flat_numbers(figures))
            curve = [r for r in result.rows if r["trial"] == trial]
            # the curve under curve.*: its last point would otherwise overwrite the trial's own figure of that name
            child.series(
                (
                    round(r["virtual_time_s"]),
                    {f"curve.{k}": v for k, v in r.items() if k != "trial"} | {"curve.virtual_hours": r["virtual_time_s"] / 3600},
                )
                for r in curve
            )
    if out is not None:
        tracker.artifact(out / "proxy_metadata.json")


def track_sweep(tracker: Tracker, result: SweepResult, raw: Mapping[str, Any]) -> None:
    """A sweep: the base config on the parent, one nested run per combination (its values as params,
    its medians and ranges over trials as metrics)."""
    tracker.params({"config": {k: v for k, v in raw.items() if k != "sweep"}, "swept": result.keys})
    tracker.metrics({"combinations": len(result.rows)})
    tracker.tags({"warnings": len(result.warnings)})
    for i, row in enumerate(result.rows):
        name = ", ".join(f"{k}={v}" for k, v in row["params"].items())
        with tracker.child(f"sweep {i:03d}: {name}") as child:
            child.params(row["params"])
            child.metrics(flat_numbers({k: v for k, v in row.items() if k != "params"}))


def track_gate(tracker: Tracker, run: GateRun, head: Path, base: Path | None, files: Mapping[str, Path | None]) -> None:
    result = run.result
    tracker.params(
        {"head": str(head), "base": str(base) if base else None, "targets": result.targets, "settings": asdict(result.settings)}
    )
    statuses = [c.status for c in result.cases]
    tracker.metrics(
        {
            "passed": int(result.passed),
            "failures": len(result.failures),
            "checks": len(result.cases),
            "missing_base": len(result.missing_base),
        }
        | {f"status.{s}": statuses.count(s) for s in set(statuses)}
    )
    for case in result.cases:  # the figures behind each verdict: head, base, ratio, p-value
        for verdict in case.verdicts:
            figures = {k: getattr(verdict, k) for k in ("head", "base", "ratio", "p_value")}
            tracker.metrics(flat_numbers(figures, f"{case.model}.{case.device}.{case.metric}.{verdict.check}."))
    tracker.tags({"verdict": "passed" if result.passed else "failed"})
    tracker.document("gate.json", result.to_dict())
    for path in files.values():
        if path is not None:
            tracker.artifact(path)


def track_assess(tracker: Tracker, assessment: Assessment, config: Path) -> None:
    doc = assessment.decision
    tracker.params({"config": str(config), "inputs": doc.get("inputs", {})})
    verdicts = [d["verdict"] for d in doc["decisions"]]
    tracker.metrics({f"verdicts.{v}": verdicts.count(v) for v in ("go", "no-go", "needs-measurement")})
    for decision in doc["decisions"]:
        with tracker.child(f"{decision['model']} / {decision['target']}") as child:
            child.params({"model": decision["model"], "target": decision["target"]})
            child.tags({"verdict": decision["verdict"], "reasons": "; ".join(decision["reasons"])})
            child.metrics(flat_numbers({k: v for k, v in decision.items() if k not in ("model", "target", "verdict")}))
    for name in ("decision_json", "decision_md", "report"):
        if name in assessment.outputs:
            tracker.artifact(Path(assessment.outputs[name]))
