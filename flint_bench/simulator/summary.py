"""A trial's figures and the summary over trials (summary.json). Pure: no I/O."""

from __future__ import annotations

from typing import Any

from .forecast import forecast, spread
from .privacy.run import dp_figures, secagg_figures
from .simulation import Setup
from .state import TrialState

# the per-trial figures summarised as median / min / max over trials
SUMMARY_KEYS = (
    "virtual_hours_to_target",
    "tasks_to_target",
    "metric_at_budget",
    "virtual_hours",
    "rounds",
    "aggregations",
    "tasks_started",
    "tasks_succeeded",
    "tasks_interrupted",
    "tasks_timed_out",
    "tasks_stale",
    "client_compute_hours",
    "aggregator_updates_per_s",
    "aggregator_mb_per_s",
    "peak_hour_updates_per_s",
    "seconds_per_aggregation",
    "final_metric",
    "final_loss",
    "centralized_metric",
    "epsilon",
    "secagg_aggregator_busy_share",
)


def trial_summary(setup: Setup, st: TrialState) -> dict[str, Any]:
    c = st.sched.c
    fc = forecast(c, st.sched.now, setup.update_bytes, setup.classes.names)
    reached = st.hours_to_target is not None
    dp = dp_figures(setup.strategy, len(setup.sizes), c.aggregations)
    secagg = secagg_figures(setup.strategy, c.aggregations, st.sched.now)
    return {
        "trial": st.trial,
        "virtual_hours_to_target": st.hours_to_target,
        "tasks_to_target": c.started if reached else None,  # the trial stops at the target (TargetStopping)
        "metric_at_budget": st.metric_at_budget,
        "virtual_hours": st.sched.now / 3600.0,
        "rounds": c.rounds,
        "aggregations": c.aggregations,
        "tasks_started": c.started,
        "tasks_succeeded": c.succeeded,
        "tasks_interrupted": c.interrupted,
        "tasks_timed_out": c.timed_out,
        "tasks_stale": c.stale,
        "client_compute_hours": fc["client_compute_hours"],
        "aggregator_updates_per_s": fc["aggregator_updates_per_s"],
        "aggregator_mb_per_s": fc["aggregator_mb_per_s"],
        "peak_hour_updates_per_s": fc["peak_hour_updates_per_s"],
        "seconds_per_aggregation": st.sched.now / c.aggregations if c.aggregations else None,
        "final_metric": st.last_metric,
        "final_loss": st.last_loss,
        "centralized_metric": setup.centralized_metric,
        "reached_target": reached if setup.cfg.sim.target_metric is not None else None,
        "epsilon": dp["epsilon"] if dp else None,
        "secagg_aggregator_busy_share": secagg["aggregator_busy_share"] if secagg else None,
        "privacy": {"dp": dp, "secagg": secagg},
        "forecast": fc,
    }


def summarize(setup: Setup, trials: list[dict[str, Any]], backend: str, wall_s: float) -> dict[str, Any]:
    cfg = setup.cfg
    return {
        "model": setup.model.name,
        "mode": cfg.sim.mode,
        "backend": backend,
        "trials": len(trials),
        "metric_name": setup.metric_name,
        "target_metric": cfg.sim.target_metric,
        "time_budget_hours": cfg.sim.time_budget_hours,
        "metrics": {k: spread([t[k] for t in trials]) for k in SUMMARY_KEYS},
        "compute_hours_by_class": {
            n: spread([t["forecast"]["compute_hours_by_class"][n] for t in trials]) for n in setup.classes.names
        },
        "per_trial": trials,
        "proxy": setup.proxy.metadata if setup.proxy else {"clients": len(setup.sizes)},
        "device_classes": setup.classes.names,
        "population": setup.population,
        "warnings": setup.warnings,
        "update_bytes": setup.update_bytes,
        # the SecAgg cost per task and aggregation (the same in every trial); ε per trial is in metrics.epsilon
        "secagg": trials[0]["privacy"]["secagg"] if trials else None,
        "wall_seconds": wall_s,
        "config": cfg.echo(),
    }
