"""The leader: builds the proxy and population once, runs trials (scheduler + training), checkpoints,
and writes `summary.json` + `metrics.parquet`.

Per aggregation: the scheduler decides the system outcome; only the aggregated clients are trained,
each from the model version it started on; the executors return weighted delta sums; the leader
applies FedAvg / FedBuff and evaluates every `eval_every` aggregations.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import ConfigError, UserError
from .clock import FedAvgScheduler, FedBuffScheduler
from .config import SimConfig
from .forecast import forecast, spread
from .population import DeviceClasses, SessionStream, assign_classes, bandwidth_sampler, classes_from_config, load_trace
from .proxy import ProxyData, build_proxy, client_sizes, dataset_sizes, partition, proxy_seed, slice_partition
from .strategies import client_lr, fedavg_weights, fedbuff_weights

SUMMARY_KEYS = (
    "virtual_hours_to_target",
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
)


@dataclass
class Setup:
    cfg: SimConfig
    model: Any  # zoo ModelDef (None for a system-only run)
    sizes: np.ndarray
    classes: DeviceClasses
    bandwidth: Callable
    trace: tuple | None
    update_bytes: float
    proxy: ProxyData | None = None
    metric_name: str = "metric"
    centralized_metric: float | None = None


def prepare(cfg: SimConfig, model=None) -> Setup:
    """Load the model, build the proxy (or only client sizes without training) and the population."""
    from ..metrics import PRIMARY_METRIC
    from ..zoo import load_model

    s = cfg.sim
    if model is None:
        model = load_model(s.model)
    classes = classes_from_config(cfg.population, model.name, cfg.file)
    update_bytes = float(classes.update_bytes or model.update_bytes)
    proxy = build_proxy(model, cfg.proxy, s.seed, cfg.file) if s.train else None
    if proxy is not None:
        sizes = proxy.sizes
    elif cfg.proxy.dataset is not None:
        sizes = dataset_sizes(model, cfg.proxy, cfg.file)
    else:
        sizes = client_sizes(cfg.proxy, np.random.default_rng(proxy_seed(s.seed, cfg.proxy.version)))
    if s.mode == "fedavg" and math.ceil(cfg.fedavg.cohort * cfg.fedavg.overcommit - 1e-9) > len(sizes):
        raise ConfigError(
            cfg.file,
            "fedavg.cohort",
            f"cohort x overcommit selects more devices than the {len(sizes)} training clients of proxy.dataset; lower fedavg.cohort / fedavg.overcommit",
        )
    avail = cfg.population.availability
    trace = load_trace(Path(avail.trace), cfg.file) if avail.trace else None
    setup = Setup(
        cfg,
        model,
        sizes,
        classes,
        bandwidth_sampler(cfg.population.bandwidth, cfg.file),
        trace,
        update_bytes,
        proxy,
        PRIMARY_METRIC[model.task],
    )
    if s.train and s.centralized_epochs > 0:
        from .training import centralized, init_flat

        start = init_flat(model, s.seed)
        setup.centralized_metric, _ = centralized(
            model,
            proxy.tensors,
            proxy.holdout,
            s.centralized_epochs,
            s.client_lr or model.lr,
            s.client_batch_size or model.batch_size,
            s.seed,
            start,
        )
    return setup


def make_scheduler(setup: Setup, trial: int):
    cfg, s = setup.cfg, setup.cfg.sim
    rng = np.random.default_rng([s.seed, trial, 1])
    n = len(setup.sizes)
    device_class = assign_classes(n, setup.classes, rng, setup.trace[3] if setup.trace else None)
    stream = SessionStream(
        cfg.population.availability,
        n,
        device_class,
        setup.classes.samplers,
        setup.bandwidth,
        setup.sizes,
        s.local_epochs,
        setup.update_bytes,
        rng,
        setup.trace,
    )
    k = len(setup.classes.names)
    if s.mode == "fedavg":
        return FedAvgScheduler(stream, n, k, cfg.fedavg.cohort, cfg.fedavg.overcommit, cfg.fedavg.round_deadline_s)
    return FedBuffScheduler(
        stream, n, k, cfg.fedbuff.concurrency, cfg.fedbuff.buffer, cfg.fedbuff.max_staleness, cfg.fedbuff.task_timeout_s
    )


class LocalBackend:
    """Executors in this process, one per proxy partition (the same split the Ray backend uses)."""

    def __init__(self, setup: Setup):
        from .training import Executor

        self.bounds = partition(setup.proxy.clients, setup.cfg.sim.executors)
        self.executors = [
            Executor(setup.model, *slice_partition(setup.proxy, lo, hi), lo, setup.cfg.sim.train_chunk) for lo, hi in self.bounds
        ]

    def split(self, clients: np.ndarray) -> list[np.ndarray]:
        his = np.array([hi for _, hi in self.bounds])
        owner = np.searchsorted(his, clients, side="right")
        return [np.flatnonzero(owner == e) for e in range(len(self.bounds))]

    def weighted_delta_sum(self, clients, starts, start_index, weights, lr, epochs, batch_size, seed_key):
        import torch

        total = None
        for e, idx in enumerate(self.split(clients)):
            if len(idx):
                part = self.executors[e].weighted_delta_sum(
                    clients[idx], starts, start_index[idx], weights[idx], lr, epochs, batch_size, seed_key
                )
                total = part if total is None else total + part
        return total if total is not None else torch.zeros(starts.shape[1])

    def close(self) -> None:
        pass


@dataclass
class TrialState:
    trial: int
    sched: Any
    flat: Any = None  # torch tensor of the current global model
    snapshots: dict = field(default_factory=dict)  # model version -> flat (FedBuff keeps max_staleness + 1)
    rows: list = field(default_factory=list)
    hours_to_target: float | None = None
    metric_at_budget: float | None = None
    last_metric: float | None = None
    last_loss: float | None = None
    done: bool = False


def new_trial(setup: Setup, trial: int) -> TrialState:
    st = TrialState(trial, make_scheduler(setup, trial))
    if setup.cfg.sim.train:
        from .training import init_flat

        st.flat = init_flat(setup.model, setup.cfg.sim.seed * 1000 + trial)
        st.snapshots = {0: st.flat}
    return st


def _row(setup: Setup, st: TrialState, agg_done: int) -> dict:
    c = st.sched.c
    return {
        "trial": st.trial,
        "virtual_time_s": st.sched.now,
        "aggregation": agg_done,
        "round": c.rounds,
        "metric": st.last_metric,
        "loss": st.last_loss,
        **{k: v for k, v in c.snapshot().items() if k not in ("rounds", "aggregations")},
    }


def _evaluate(setup: Setup, st: TrialState) -> None:
    if setup.cfg.sim.train:
        from .training import evaluate

        st.last_metric, st.last_loss = evaluate(setup.model, st.flat, setup.proxy.holdout)


def run_trial(setup: Setup, st: TrialState, backend, checkpoint: Callable[[TrialState], None] | None = None) -> TrialState:
    import torch

    cfg, s = setup.cfg, setup.cfg.sim
    sched = st.sched
    budget_s = s.time_budget_hours * 3600.0 if s.time_budget_hours is not None else None
    if not st.rows:
        _evaluate(setup, st)
        st.rows.append(_row(setup, st, 0))
    while not st.done:
        done_aggs = sched.c.aggregations
        if done_aggs >= s.max_aggregations:
            break
        if budget_s is not None and sched.now >= budget_s:
            break
        agg = sched.next_aggregation(budget_s if budget_s is not None else math.inf)
        if agg is None:
            break
        if s.train:
            lr = client_lr(
                s.client_lr or setup.model.lr, s.lr_schedule, agg.index, s.max_aggregations, s.lr_step_every, s.lr_step_gamma
            )
            versions, start_index = np.unique(agg.start_versions, return_inverse=True)
            starts = torch.stack([st.snapshots[int(v)] for v in versions])
            if s.mode == "fedavg":
                weights = fedavg_weights(setup.sizes[agg.clients])
            else:
                weights = fedbuff_weights(agg.staleness, cfg.fedbuff.buffer)
            batch = setup.model.batch_size if s.client_batch_size is None else s.client_batch_size
            delta = backend.weighted_delta_sum(
                agg.clients, starts, start_index, weights, lr, s.local_epochs, batch, (s.seed, st.trial, agg.index)
            )
            st.flat = st.flat + s.server_lr * delta
            keep = cfg.fedbuff.max_staleness if s.mode == "fedbuff" else 0
            st.snapshots[agg.index + 1] = st.flat
            for v in [v for v in st.snapshots if v < agg.index + 1 - keep]:
                del st.snapshots[v]
        n = sched.c.aggregations
        if n % s.eval_every == 0 or n >= s.max_aggregations:
            _evaluate(setup, st)
            st.rows.append(_row(setup, st, n))
            if (
                s.target_metric is not None
                and st.hours_to_target is None
                and st.last_metric is not None
                and st.last_metric >= s.target_metric
            ):
                st.hours_to_target = sched.now / 3600.0
                st.done = True
        if checkpoint is not None and n % s.checkpoint_every == 0 and not st.done:
            checkpoint(st)
    if st.rows[-1]["aggregation"] != sched.c.aggregations or st.rows[-1]["virtual_time_s"] != sched.now:
        _evaluate(setup, st)
        st.rows.append(_row(setup, st, sched.c.aggregations))
    if budget_s is not None:
        st.metric_at_budget = st.last_metric
    st.done = True
    return st


def trial_summary(setup: Setup, st: TrialState) -> dict:
    c = st.sched.c
    fc = forecast(c, st.sched.now, setup.update_bytes, setup.classes.names)
    return {
        "trial": st.trial,
        "virtual_hours_to_target": st.hours_to_target,
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
        "reached_target": st.hours_to_target is not None if setup.cfg.sim.target_metric is not None else None,
        "forecast": fc,
    }


def summarize(setup: Setup, trials: list[dict], backend: str, wall_s: float) -> dict:
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
        "update_bytes": setup.update_bytes,
        "wall_seconds": wall_s,
        "config": cfg.echo(),
    }


# --- checkpoints --------------------------------------------------------------------------------

CHECKPOINT = "checkpoint.pkl"


def save_checkpoint(out: Path, state: dict) -> None:
    """Atomic: a kill -9 leaves either the previous or the new checkpoint, never half of one."""
    tmp = out / (CHECKPOINT + ".tmp")
    with tmp.open("wb") as f:
        pickle.dump(state, f, protocol=pickle.HIGHEST_PROTOCOL)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, out / CHECKPOINT)


def load_checkpoint(out: Path) -> dict | None:
    path = out / CHECKPOINT
    if not path.is_file():
        return None
    with path.open("rb") as f:
        return pickle.load(f)


def make_backend(setup: Setup, name: str):
    if not setup.cfg.sim.train:
        return None
    if name == "ray":
        from .ray_backend import RayBackend

        return RayBackend(setup)
    return LocalBackend(setup)


def run(
    cfg: SimConfig,
    raw: dict,
    out: Path | None = None,
    backend: str = "local",
    resume: bool = False,
    progress: Callable[[str], None] | None = None,
    model=None,
) -> dict:
    """All trials of one config; with `out`, checkpoints and writes summary.json + metrics.parquet there."""
    import pandas as pd

    t0 = time.perf_counter()
    say = progress or (lambda msg: None)
    ckpt = None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        if resume:
            ckpt = load_checkpoint(out)
            if ckpt is None:
                raise UserError(f"--resume {out}: no {CHECKPOINT} there. Run without --resume to start afresh.")
            if ckpt["raw_config"] != raw:
                raise UserError(
                    f"--resume {out}: the checkpoint was written with a different config. Pass the same --config (or none) or another --out."
                )
        (out / "config.json").write_text(json.dumps(raw, indent=2, default=str))
    setup = prepare(cfg, model)
    if out is not None and setup.proxy is not None:
        (out / "proxy_metadata.json").write_text(json.dumps(setup.proxy.metadata, indent=2))
    be = make_backend(setup, backend)
    finished: list[dict] = ckpt["finished"] if ckpt else []
    rows: list[dict] = ckpt["rows"] if ckpt else []
    try:
        for trial in range(len(finished), cfg.sim.trials):
            if ckpt and ckpt["state"] is not None and ckpt["state"].trial == trial:
                st = ckpt["state"]
                st.sched.stream.attach(setup.trace)
            else:
                st = new_trial(setup, trial)
            ckpt = None
            say(
                f"trial {trial + 1}/{cfg.sim.trials}: {cfg.sim.mode}"
                + (f", resumed at aggregation {st.sched.c.aggregations}" if st.rows else "")
            )

            def checkpoint(state: TrialState, _fin=finished, _rows=rows) -> None:
                if out is not None:
                    save_checkpoint(out, {"raw_config": raw, "finished": _fin, "rows": _rows, "state": state})

            run_trial(setup, st, be, checkpoint)
            finished.append(trial_summary(setup, st))
            rows.extend(st.rows)
            if out is not None:
                save_checkpoint(out, {"raw_config": raw, "finished": finished, "rows": rows, "state": None})
    finally:
        if be is not None:
            be.close()
    summary = summarize(setup, finished, backend, time.perf_counter() - t0)
    if out is not None:
        pd.DataFrame(rows).to_parquet(out / "metrics.parquet", index=False)
        (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    summary["_rows"] = rows
    return summary


def check_model_available(cfg: SimConfig) -> None:
    """Fail early (exit 2) on a model the zoo does not know, naming the key."""
    from ..zoo import load_model

    try:
        load_model(cfg.sim.model)
    except UserError as e:
        raise ConfigError(cfg.file, "sim.model", str(e)) from None
