"""The simulator's parts tested directly: strategies, the backend registry, callbacks, config constraints."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

from flint_bench.core.errors import ConfigError, MissingDependency, UserError
from flint_bench.simulator import simulation
from flint_bench.simulator.backends import BACKENDS, create_backend
from flint_bench.simulator.callbacks import Checkpointing, TargetStopping
from flint_bench.simulator.checkpoint import CHECKPOINT, load_checkpoint
from flint_bench.simulator.clock import FedAvgScheduler, FedBuffScheduler
from flint_bench.simulator.config import FedAvg, parse
from flint_bench.simulator.strategies import FedAvgStrategy, FedBuffStrategy, strategy_for

from .helpers import config, raw_config


def test_strategy_for_each_mode_owns_its_scheduler():
    for mode, strategy_type, scheduler_type in (
        ("fedavg", FedAvgStrategy, FedAvgScheduler),
        ("fedbuff", FedBuffStrategy, FedBuffScheduler),
    ):
        cfg = config(mode, sim={"server_lr": 0.3})
        strategy = strategy_for(cfg)
        assert isinstance(strategy, strategy_type) and strategy.mode == mode and strategy.server_lr == 0.3
        assert isinstance(simulation.make_scheduler(simulation.prepare(cfg), 0), scheduler_type)


def test_fedavg_refuses_a_cohort_larger_than_the_clients():
    FedAvgStrategy(FedAvg(cohort=10, overcommit=1.3)).check_clients(13, "sim.toml")
    with pytest.raises(ConfigError, match=r"'fedavg\.cohort'"):
        FedAvgStrategy(FedAvg(cohort=10, overcommit=1.3)).check_clients(12, "sim.toml")


def test_training_trial_keeps_only_the_versions_the_strategy_needs():
    cfg = config("fedbuff", sim={"train": True, "max_aggregations": 12, "eval_every": 4}, fedbuff={"max_staleness": 3})
    setup = simulation.prepare(cfg)
    st = simulation.new_trial(setup, 0)
    with create_backend("local", simulation.training_data(setup)) as backend:
        simulation.run_trial(setup, st, backend)
    assert sorted(st.snapshots) == [9, 10, 11, 12]  # the newest and max_staleness = 3 before it
    assert st.flat is st.snapshots[12]


def test_backend_registry_names_and_install_hint(monkeypatch):
    assert set(BACKENDS) == {"local", "ray"}
    setup = simulation.prepare(config("fedbuff", sim={"train": True}))
    with pytest.raises(UserError, match="unknown simulator backend 'dask'"):
        create_backend("dask", simulation.training_data(setup))
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)  # as if ray were not installed
    with pytest.raises(MissingDependency, match=r"flint-bench\[ray\]"):
        create_backend("ray", simulation.training_data(setup))


def test_a_system_only_run_has_no_training_data():
    with pytest.raises(ValueError, match="system-only"):
        simulation.training_data(simulation.prepare(config("fedbuff")))


def test_target_stopping_records_the_hours_once_and_only_after_an_evaluation():
    st = simulation.new_trial(simulation.prepare(config("fedbuff")), 0)
    st.sched.now = 7200.0
    stop = TargetStopping(0.8)
    st.last_metric = 0.9
    assert not stop.after_aggregation(st, evaluated=False)
    st.last_metric = 0.7
    assert not stop.after_aggregation(st, evaluated=True)
    st.last_metric = 0.8
    assert stop.after_aggregation(st, evaluated=True) and st.hours_to_target == 2.0


def test_checkpointing_saves_every_n_aggregations_but_not_a_stopped_trial(tmp_path):
    setup = simulation.prepare(config("fedbuff"))
    st = simulation.new_trial(setup, 0)
    saver = Checkpointing(tmp_path, {"sim": {}}, [], [], every=2)
    st.sched.c.aggregations = 3
    saver.after_aggregation(st, evaluated=False)
    assert load_checkpoint(tmp_path) is None
    st.sched.c.aggregations = 4
    st.done = True
    saver.after_aggregation(st, evaluated=False)
    assert load_checkpoint(tmp_path) is None
    st.done = False
    saver.after_aggregation(st, evaluated=False)
    saved = load_checkpoint(tmp_path)
    assert saved is not None and saved.raw_config == {"sim": {}} and saved.trial is not None
    assert saved.trial["scheduler"]["counters"]["aggregations"] == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == [CHECKPOINT]  # no temporary file left behind
    with np.load(tmp_path / CHECKPOINT, allow_pickle=False) as npz:  # an .npz of arrays and one JSON document
        assert npz["sched_busy"].dtype == bool
        assert json.loads(npz["checkpoint.json"])["version"] == 1


def test_stopping_at_the_target_through_run():
    from flint_bench.simulator import experiment

    cfg = config("fedbuff", sim={"train": True, "target_metric": 0.0, "max_aggregations": 50, "eval_every": 2})
    result = experiment.run(cfg, {}, None)
    trial = result.summary["per_trial"][0]
    assert trial["aggregations"] == 2 and trial["reached_target"] is True  # the first evaluation after aggregating
    assert [r["aggregation"] for r in result.rows] == [0, 2]


@pytest.mark.parametrize(
    "section, values, key",
    [
        ("fedavg", {"overcommit": 0.9}, "fedavg.overcommit"),
        ("fedbuff", {"max_staleness": -1}, "fedbuff.max_staleness"),
        ("fedbuff", {"task_timeout_s": 0.0}, "fedbuff.task_timeout_s"),
        ("sim", {"train_chunk": -1}, "sim.train_chunk"),
        ("sim", {"checkpoint_every": 0}, "sim.checkpoint_every"),
        ("proxy", {"label_alpha": 0.0}, "proxy.label_alpha"),
        ("proxy", {"std_records": float("nan")}, "proxy.std_records"),
        ("population", {"availability": {"trough_fraction": 1.5}}, "population.availability.trough_fraction"),
        ("population", {"classes": [{"name": "x", "share": 0}]}, "population.classes[0].share"),
        (
            "population",
            {"classes": [{"name": "x", "per_example_s": {"median": 0}}]},
            "population.classes[0].per_example_s.median",
        ),
    ],
)
def test_config_constraints_name_the_key(section, values, key):
    with pytest.raises(ConfigError, match=re.escape(f"'{key}'")):
        parse(raw_config("fedbuff", **{section: values}), "sim.toml")


def test_server_step_applies_the_server_learning_rate():
    step = FedBuffStrategy(config().fedbuff, server_lr=2.0).server_step(torch.ones(3), torch.tensor([0.5, -1.0, 0.0]))
    torch.testing.assert_close(step, torch.tensor([2.0, -1.0, 1.0]))
