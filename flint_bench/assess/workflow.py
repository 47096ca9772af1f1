"""`flint-bench assess` as a library call: the stages in order through the cached pipeline, then the
decision and its outputs. A failing stage stops the run (exit 2 at the CLI); the stages before it
keep their outputs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..core.fileio import read_json
from .cache import Pipeline, key_of
from .config import load_config
from .decision import decide
from .outputs import write_outputs
from .simulation import forecast_stage, simulation_stage
from .stages import benchmark_stage, compat_stage, coverage_stage, eligibility_stage, profiles_stage, sessions_stage


@dataclass
class Assessment:
    decision: dict[str, Any]
    outputs: dict[str, str]


def run_assess(config: Path, out: Path, *, force: bool = False, say: Callable[[str], None] = lambda text: None) -> Assessment:
    cfg = load_config(config)
    p = Pipeline(out, force, say)
    bench = p.run("benchmark", lambda: benchmark_stage(cfg, say))
    prof = p.run("profiles", lambda: profiles_stage(cfg, bench))
    compat = p.run("compat", lambda: compat_stage(cfg, prof))
    sess = p.run("sessions", lambda: sessions_stage(cfg))
    cov = p.run("coverage", lambda: coverage_stage(cfg, prof, sess))
    elig = p.run("eligibility", lambda: eligibility_stage(cfg, sess, prof))
    sim = p.run("simulation", lambda: simulation_stage(cfg, prof, compat, cov, elig, say))
    fc = p.run("forecast", lambda: forecast_stage(cfg, sim, bench))
    inputs: dict[str, Any] = {
        "results": bench.doc["results"],
        "sessions": sess.doc["file"],
        "synthetic_sessions": sess.doc["synthetic"],
        "rules": str(cfg.path(cfg.rules)),
        "budgets": compat.doc["source"],
        "mapping": str(cfg.path(cfg.mapping)) if cfg.mapping else None,
    }

    def decision_stage() -> tuple[dict[str, Any], Callable[[Path], dict[str, Any]]]:
        def run(folder: Path) -> dict[str, Any]:
            return decide(
                cfg,
                sim.doc["runs"],
                read_json(compat.doc["compat"], "compat table"),
                cov.doc["coverage"],
                elig.doc,
                fc.doc["forecast"],
                inputs,
                [],
                datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            )

        upstream = {r.name: r.key for r in p.results.values()}
        return {"upstream": key_of(upstream), "decision": cfg.section("decision")}, run

    decision = p.run("decision", decision_stage)
    doc = {**decision.doc, "stages": p.summary()}
    first_run = next((m["run"] for e in sim.doc["runs"] for m in e["modes"].values()), None)
    report_inputs = {
        "results": Path(bench.doc["results"]),
        "profiles": Path(prof.doc["profiles"]),
        "eligibility": Path(elig.doc["eligibility"]),
        "simulation": Path(first_run) if first_run else None,
        "budgets": cfg.path(cfg.budgets),
        "targets": cfg.targets,
    }
    outputs = write_outputs(doc, out, report_inputs)
    say(f"{'outputs':<12} {out / 'decision.json'}, decision.md, report.html")
    return Assessment(doc, outputs)
