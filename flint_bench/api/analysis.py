"""eligibility, simulate, assess, report and gate: from measurements to decisions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.errors import UserError
from .common import PathLike, path, tracked

if TYPE_CHECKING:
    import pandas as pd

    from ..assess.workflow import Assessment
    from ..eligibility import EligibilityRun
    from ..gate import GateRun, GateSettings
    from ..report.render import ReportFormat, WrittenReport
    from ..simulator.experiment import SimulationResult
    from ..simulator.sweep import SweepResult


# --- eligibility, simulation, assess ----------------------------------------------------------


def eligibility(
    sessions: PathLike,
    rules: PathLike,
    *,
    profiles: PathLike | None = None,
    budgets: PathLike | None = None,
    traces_out: PathLike | None = None,
    device_map: PathLike | None = None,
) -> EligibilityRun:
    """The Table 1 funnel of a session log under the rules (`.document` is the JSON, `.funnel` the figures)."""
    from ..eligibility import run_eligibility

    return run_eligibility(
        Path(sessions),
        Path(rules),
        profiles=path(profiles),
        budgets=path(budgets),
        traces_out=path(traces_out),
        device_map=path(device_map),
    )


def simulate(
    config: PathLike | Mapping[str, Any] | None = None,
    *,
    trials: int | None = None,
    backend: str = "local",
    out: PathLike | None = None,
    resume: PathLike | None = None,
    sweep: bool = False,
    progress: Callable[[str], None] | None = None,
    file: str | None = None,
    mlflow: bool = False,
) -> SimulationResult | SweepResult:
    """A simulation (or, with `sweep`, every combination of the config's [sweep] table). `config` is a
    simulator TOML path, or the parsed tables (`file` names them in errors). `.summary` is
    summary.json, `.rows` the curves (metrics.parquet); `metrics_frame(result)` gives them as a DataFrame."""
    from ..simulator.experiment import raw_config
    from ..simulator.experiment import simulate as run_simulation
    from ..simulator.sweep import run_sweep

    if resume is not None and sweep:
        raise UserError(
            "--resume continues one run; it cannot be combined with --sweep. Re-run the sweep (each combination's folder has its own checkpoint) or resume one sweep-NNN folder."
        )
    if config is None or isinstance(config, str | Path):
        raw, label = raw_config(path(config), path(resume), trials)
    else:
        raw, label = dict(config), file or "<config>"
        if trials is not None:
            raw["sim"] = {**raw.get("sim", {}), "trials": trials}
    where = path(resume) if resume is not None else path(out)
    if sweep:
        swept = run_sweep(raw, label, where, backend, progress)
        if mlflow:
            log_sweep(swept, raw, progress)
        return swept
    result = run_simulation(raw, label, where, backend, resume is not None, progress)
    if mlflow:
        log_simulation(result, raw, where, progress)
    return result


def log_sweep(result: SweepResult, raw: Mapping[str, Any], say: Callable[[str], None] | None = None) -> None:
    """A finished sweep as an MLflow run with a nested run per combination."""
    from ..tracking.commands import track_sweep

    with tracked(True, "simulate", "simulate --sweep", say) as tracker:
        assert tracker is not None
        track_sweep(tracker, result, raw)


def log_simulation(
    result: SimulationResult, raw: Mapping[str, Any], out: Path | None, say: Callable[[str], None] | None = None
) -> None:
    """A finished simulation as an MLflow run: config, summary, a nested run per trial with its curves."""
    from ..tracking.commands import track_simulation

    with tracked(True, "simulate", f"simulate · {result.summary.get('model')}", say) as tracker:
        assert tracker is not None
        track_simulation(tracker, result, raw, out)


def metrics_frame(result: SimulationResult) -> pd.DataFrame:
    """The simulation's curves: one row per evaluation and trial, over virtual time."""
    import pandas as pd

    return pd.DataFrame(result.rows)


def assess(
    config: PathLike = "configs/assess.toml",
    out: PathLike = "assess",
    *,
    force: bool = False,
    say: Callable[[str], None] = lambda text: None,
    mlflow: bool = False,
) -> Assessment:
    """From a model to a decision: every stage, cached; `.decision` is decision.json, `.outputs` the files."""
    from ..assess import run_assess

    with tracked(mlflow, "assess", say=say) as tracker:
        result = run_assess(Path(config), Path(out), force=force, say=say)
        if tracker is not None:
            from ..tracking.commands import track_assess

            track_assess(tracker, result, Path(config))
    return result


# --- report and gate --------------------------------------------------------------------------


def report(
    results: PathLike,
    out: PathLike,
    *,
    profiles: PathLike | None = None,
    eligibility: PathLike | None = None,
    simulation: PathLike | None = None,
    decision: PathLike | None = None,
    budgets: PathLike | None = None,
    targets: list[str] | None = None,
    format: ReportFormat | None = None,
) -> WrittenReport:
    """Write the device-compatibility report (HTML, or Markdown for a .md `out`)."""
    from ..report.inputs import make_context
    from ..report.render import write_report

    context = make_context(
        Path(results),
        profiles=path(profiles),
        eligibility=path(eligibility),
        simulation=path(simulation),
        budgets=path(budgets),
        targets=targets,
        decision=path(decision),
    )
    return write_report(context, Path(out), format)


@dataclass
class GateFiles:
    junit: Path | None = None
    markdown: Path | None = None
    benchmark_json: Path | None = None
    step_summary: Path | None = None  # appended to ($GITHUB_STEP_SUMMARY)


def gate(
    head: PathLike,
    base: PathLike | None = None,
    *,
    budgets: PathLike | None = None,
    targets: list[str] | None = None,
    settings: GateSettings | None = None,
    files: GateFiles | None = None,
    mlflow: bool = False,
    say: Callable[[str], None] | None = None,
) -> GateRun:
    """Budgets on the head results and significant regressions against the base (`.result.passed`)."""
    from ..gate import GateSettings, run_gate, write_outputs

    f = files or GateFiles()
    with tracked(mlflow, "gate", say=say) as tracker:
        gate_run = run_gate(Path(head), path(base), path(budgets), targets, settings or GateSettings())
        write_outputs(
            gate_run, junit=f.junit, markdown_file=f.markdown, benchmark_file=f.benchmark_json, step_summary=f.step_summary
        )
        if tracker is not None:
            from ..tracking.commands import track_gate

            track_gate(tracker, gate_run, Path(head), path(base), {"junit": f.junit, "markdown": f.markdown})
    return gate_run
