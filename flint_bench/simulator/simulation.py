"""One trial on the virtual clock: the scheduler decides the system outcome of every client task,
only the aggregated clients are trained (each from the model version it started on), and the
strategy turns their weighted delta sum into the next global model.

Per aggregation: scheduler -> backend (weighted delta sum) -> strategy (server step) -> evaluation
every `eval_every` aggregations -> callbacks (target stopping, checkpoints).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .backends import Backend, TrainingData, TrainingTask
from .callbacks import TrialCallback
from .clock import Aggregation, Scheduler
from .config import SimConfig
from .devices import assign_profiles
from .metrics import PRIMARY_METRIC
from .population import ComputeClasses, Sampler, SessionStream, assign_classes, bandwidth_sampler, classes_from_config
from .proxy import ProxyData, build_proxy, client_sizes, dataset_sizes, proxy_seed
from .state import TrialState
from .strategies import Strategy, client_lr, strategy_for
from .trace import ClientTrace, describe, load_trace, one_to_one_clients, to_clients

if TYPE_CHECKING:
    from ..zoo import ModelDef


@dataclass
class Setup:
    """What every trial of one config shares: the model, the proxy, the population and the strategy."""

    cfg: SimConfig
    model: ModelDef
    strategy: Strategy
    sizes: np.ndarray  # records per training client
    classes: ComputeClasses
    bandwidth: Sampler
    trace: ClientTrace | None  # the trace's sessions as the proxy clients replay them
    update_bytes: float
    proxy: ProxyData | None = None  # None for a system-only run (sim.train = false)
    metric_name: str = "metric"
    centralized_metric: float | None = None
    client_class: np.ndarray | None = None  # per client: its measured profile's class, -1 = the fallback mix
    population: dict[str, Any] = field(default_factory=dict)  # summary figures: trace mapping, coverage
    warnings: list[str] = field(default_factory=list)


def prepare(cfg: SimConfig, model: ModelDef | None = None) -> Setup:
    """Load the model, build the proxy (or only client sizes without training) and the population."""
    from ..zoo import load_model

    s = cfg.sim
    if model is None:
        model = load_model(s.model)
    classes = classes_from_config(cfg.population, model.name, cfg.file)
    update_bytes = float(classes.update_bytes or model.update_bytes)
    avail = cfg.population.availability
    trace = load_trace(Path(avail.trace), cfg.file) if avail.trace else None
    p = cfg.proxy
    if (n_trace := one_to_one_clients(trace, avail.trace_to_clients, p.dataset is not None)) is not None:
        p = replace(p, clients=n_trace)
    proxy = build_proxy(model, p, s.seed, cfg.file) if s.train else None
    if proxy is not None:
        sizes = proxy.sizes
    elif p.dataset is not None:
        sizes = dataset_sizes(model, p, cfg.file)
    else:
        sizes = client_sizes(p, np.random.default_rng(proxy_seed(s.seed, p.version)))
    strategy = strategy_for(cfg)
    strategy.check_clients(len(sizes), cfg.file)
    configured = cfg.proxy.clients if p.dataset is None else len(sizes)
    clients = to_clients(trace, len(sizes), avail.trace_to_clients, s.seed, cfg.file, configured) if trace else None
    profiles = assign_profiles(classes, trace, clients, cfg.population.device_mapping, cfg.file)
    population: dict[str, Any] = {"clients": len(sizes), "trace": None, **profiles.figures}
    if clients is not None:
        population["trace"] = {**clients.mapping, "description": describe(clients.mapping)}
    setup = Setup(
        cfg=cfg,
        model=model,
        strategy=strategy,
        sizes=sizes,
        classes=classes,
        bandwidth=bandwidth_sampler(cfg.population.bandwidth, cfg.file),
        trace=clients,
        update_bytes=update_bytes,
        proxy=proxy,
        metric_name=PRIMARY_METRIC[model.task],
        client_class=profiles.client_class,
        population=population,
        warnings=profiles.warnings,
    )
    if proxy is not None and s.centralized_epochs > 0:
        from .training import centralized, init_flat

        start = init_flat(model, s.seed)
        # unlike client training (0 = full batch), the baseline reads a batch size of 0 as the model's
        batch_size = s.client_batch_size or model.batch_size
        setup.centralized_metric, _ = centralized(
            model, proxy.tensors, proxy.holdout, s.centralized_epochs, _client_lr(setup), batch_size, s.seed, start
        )
    return setup


def _client_lr(setup: Setup) -> float:
    return setup.cfg.sim.client_lr or setup.model.lr


def _batch_size(setup: Setup) -> int:
    s = setup.cfg.sim
    return setup.model.batch_size if s.client_batch_size is None else s.client_batch_size


def training_data(setup: Setup, ray_address: str | None = None) -> TrainingData:
    """What a backend needs; only for training runs (with a proxy)."""
    if setup.proxy is None:
        raise ValueError("a system-only run (sim.train = false) trains nothing: it needs no backend")
    m, s = setup.model, setup.cfg.sim
    model_ref = f"{m.source}:{m.entry}" if m.source else s.model
    return TrainingData(m, model_ref, setup.proxy, s.executors, s.train_chunk, ray_address)


def make_scheduler(setup: Setup, trial: int) -> Scheduler:
    cfg, s = setup.cfg, setup.cfg.sim
    rng = np.random.default_rng([s.seed, trial, 1])
    n = len(setup.sizes)
    device_class = assign_classes(n, setup.classes, rng, setup.client_class)
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
    return setup.strategy.scheduler(stream, n, len(setup.classes.names))


def new_trial(setup: Setup, trial: int) -> TrialState:
    st = TrialState(trial, make_scheduler(setup, trial))
    if setup.cfg.sim.train:
        from .training import init_flat

        st.flat = init_flat(setup.model, setup.cfg.sim.seed * 1000 + trial)
        st.snapshots = {0: st.flat}
    return st


def _row(st: TrialState, agg_done: int) -> dict[str, Any]:
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
    if setup.proxy is not None and st.flat is not None:
        from .training import evaluate

        st.last_metric, st.last_loss = evaluate(setup.model, st.flat, setup.proxy.holdout)


def _train(setup: Setup, st: TrialState, agg: Aggregation, backend: Backend) -> None:
    """Train the aggregated clients from their start versions and apply the strategy's server step."""
    import torch

    s, strategy = setup.cfg.sim, setup.strategy
    assert st.flat is not None, "a training trial starts with a model (new_trial)"
    lr = client_lr(_client_lr(setup), s.lr_schedule, agg.index, s.max_aggregations, s.lr_step_every, s.lr_step_gamma)
    versions, start_index = np.unique(agg.start_versions, return_inverse=True)
    starts = torch.stack([st.snapshots[int(v)] for v in versions])
    weights = strategy.client_weights(agg, setup.sizes[agg.clients])
    keys = tuple((st.trial, int(v)) for v in versions)  # each model version crosses to an executor once
    task = TrainingTask(lr, s.local_epochs, _batch_size(setup), (s.seed, st.trial, agg.index), keys)
    delta = backend.weighted_delta_sum(agg.clients, starts, start_index, weights, task)
    st.flat = strategy.server_step(st.flat, delta)
    st.snapshots[agg.index + 1] = st.flat
    oldest = agg.index + 1 - strategy.versions_kept
    for v in [v for v in st.snapshots if v < oldest]:
        del st.snapshots[v]


def run_trial(setup: Setup, st: TrialState, backend: Backend | None, callbacks: Sequence[TrialCallback] = ()) -> TrialState:
    """Run (or continue) one trial until max_aggregations, the time budget, the sessions' end or a callback stops it."""
    s = setup.cfg.sim
    sched = st.sched
    budget_s = s.time_budget_hours * 3600.0 if s.time_budget_hours is not None else None
    if not st.rows:
        _evaluate(setup, st)
        st.rows.append(_row(st, 0))
    while not st.done:
        if sched.c.aggregations >= s.max_aggregations:
            break
        if budget_s is not None and sched.now >= budget_s:
            break
        agg = sched.next_aggregation(budget_s if budget_s is not None else math.inf)
        if agg is None:
            break
        if backend is not None:
            _train(setup, st, agg, backend)
        n = sched.c.aggregations
        evaluated = n % s.eval_every == 0 or n >= s.max_aggregations
        if evaluated:
            _evaluate(setup, st)
            st.rows.append(_row(st, n))
        for callback in callbacks:
            if callback.after_aggregation(st, evaluated):
                st.done = True
    if st.rows[-1]["aggregation"] != sched.c.aggregations or st.rows[-1]["virtual_time_s"] != sched.now:
        _evaluate(setup, st)
        st.rows.append(_row(st, sched.c.aggregations))
    if budget_s is not None:
        st.metric_at_budget = st.last_metric
    st.done = True
    return st
