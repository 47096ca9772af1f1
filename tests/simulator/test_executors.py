"""Executors on every core and lazy partitions: 1 executor, worker processes and Ray give the same numbers
bit for bit, work units balance, a lazy client's records do not depend on its executor, a dead worker is
a clear error, model versions cross once, and the proxy's label ratio is settable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from flint_bench.core.errors import ConfigError
from flint_bench.simulator import simulation
from flint_bench.simulator.backends import Backend, TrainingTask, create_backend
from flint_bench.simulator.backends.base import MIN_UNIT_ROWS, TARGET_UNITS, ExecutorFailed, ModelSlots, assign_units, work_units
from flint_bench.simulator.backends.local import LocalBackend
from flint_bench.simulator.backends.process import ProcessBackend
from flint_bench.simulator.config import Proxy, parse
from flint_bench.simulator.partitions import LazyRows
from flint_bench.simulator.proxy import build_proxy
from flint_bench.zoo import load_model

from .helpers import raw_config


def trained(executors: int, backend: str = "in-process", **proxy) -> simulation.TrialState:
    raw = raw_config(
        "fedbuff",
        sim={"train": True, "executors": executors, "max_aggregations": 25, "eval_every": 5},
        fedbuff={"concurrency": 30, "buffer": 5, "max_staleness": 8},  # stale clients: several start models
        population={"classes": [{"name": "t", "per_example_s": {"median": 1.0, "sigma": 1.0}}]},
        proxy={"mean_records": 6, "std_records": 5, **proxy},
    )
    setup = simulation.prepare(parse(raw, "sim.toml"))
    st = simulation.new_trial(setup, 0)
    data = simulation.training_data(setup)
    with LocalBackend(data) if backend == "in-process" else create_backend(backend, data) as be:
        simulation.run_trial(setup, st, be)
    return st


def same_run(a: simulation.TrialState, b: simulation.TrialState) -> None:
    """Bit for bit: the final model (array equality) and every evaluated row."""
    assert a.flat is not None and b.flat is not None
    assert torch.equal(a.flat, b.flat)
    assert a.rows == b.rows


def test_one_executor_worker_processes_and_ray_give_the_same_numbers_bit_for_bit():
    one = trained(1)
    assert one.sched.c.aggregations == 25 and len({float(x) for x in one.flat}) > 1  # it trained
    same_run(one, trained(2))  # two executors in this process: units assigned otherwise, same sums
    same_run(one, trained(2, "local"))  # two worker processes
    same_run(one, trained(3, "local"))
    pytest.importorskip("ray", reason="ray is not installed (pip install 'flint-bench[ray]')")
    same_run(one, trained(2, "ray"))


def test_work_units_do_not_depend_on_the_executors_and_balance_heavy_tailed_clients():
    rng = np.random.default_rng(0)
    sizes = np.minimum(rng.lognormal(4.5, 1.2, 60).astype(np.int64) + 1, 5000)  # Task-B-like: heavy tail
    start_index = rng.integers(0, 3, 60)
    units = work_units(start_index, sizes)
    # the clients grouped by start model, cut in that order; the cut depends on the aggregation alone
    assert np.array_equal(np.concatenate(units), np.argsort(start_index, kind="stable"))
    unit_rows = max(MIN_UNIT_ROWS, -(-int(sizes.sum()) // TARGET_UNITS))
    for u in units:  # a client stays whole: every client but the last begins within the unit's share
        assert sizes[u][:-1].sum() < unit_rows
    assert 2 <= len(units) <= -(-int(sizes.sum()) // unit_rows)
    costs = np.array([sizes[u].sum() for u in units], dtype=float)
    two = assign_units(costs, 2)
    assert sorted(np.concatenate(two).tolist()) == list(range(len(units)))
    loads = [costs[a].sum() for a in two]
    assert max(loads) <= max(sum(loads) / 2 + costs.max() / 2, costs.max())  # LPT: within half the largest unit
    assert [a.tolist() for a in assign_units(costs, 1)] == [list(range(len(units)))]


def test_lazy_clients_are_the_same_in_every_partition_and_runs_match_across_executors():
    model = load_model("A")
    proxy = build_proxy(model, Proxy(clients=50, mean_records=4, std_records=3, max_records=40, storage="lazy"), 0)
    assert proxy.lazy is not None and proxy.metadata["storage"] == "lazy"
    whole, tail = proxy.rows(0, 50), proxy.rows(30, 50)
    a, a_off = whole.gather(model, np.array([31, 45]))
    b, b_off = tail.gather(model, np.array([1, 15]))
    assert np.array_equal(a_off, b_off) and all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert np.array_equal(np.diff(a_off), proxy.sizes[[31, 45]])
    same_run(trained(1, storage="lazy"), trained(2, "local", storage="lazy"))


def two_executors() -> simulation.Setup:
    return simulation.prepare(parse(raw_config("fedbuff", sim={"train": True, "executors": 2}), "sim.toml"))


def aggregate_40_clients(be: Backend, setup: simulation.Setup) -> torch.Tensor:
    """Aggregation 7 of 40 clients, 320 records: several work units, some for each executor."""
    start = torch.zeros(1, setup.model.trainable_params)
    task = TrainingTask(0.1, 1, 0, (0, 0, 7), ((0, 0),))
    return be.weighted_delta_sum(np.arange(0, 400, 10), start, np.zeros(40, dtype=np.int64), np.ones(40), task)


def test_a_dead_worker_is_an_error_naming_it_not_a_hang():
    setup = two_executors()
    be = ProcessBackend(simulation.training_data(setup), deadline_s=60)
    try:
        os.kill(be.procs[0].pid, signal.SIGKILL)  # executor 1; executor 0 is the leader itself
        be.procs[0].join(10)
        with pytest.raises(ExecutorFailed, match=r"executor 1 \(pid \d+\) exited with code -9"):
            aggregate_40_clients(be, setup)
    finally:
        be.close()
    assert not any(p.is_alive() for p in be.procs)


def test_a_dead_ray_actor_is_an_error_naming_it_not_a_hang():
    pytest.importorskip("ray", reason="ray is not installed (pip install 'flint-bench[ray]')")
    import ray

    from flint_bench.simulator.backends.ray import RayBackend

    setup = two_executors()
    be = RayBackend(simulation.training_data(setup))
    try:
        ray.kill(be.actors[1])
        with pytest.raises(ExecutorFailed, match=r"a Ray executor failed in aggregation 7: .*Actor"):
            aggregate_40_clients(be, setup)
    finally:
        be.close()
    assert not ray.is_initialized()


def test_a_script_without_a_main_guard_fails_with_a_hint_not_a_hang(tmp_path):
    """Spawned workers re-run the caller's script; one that starts a simulation at import time killed them
    at start-up, and CPython's spawn then blocked the leader for ever writing the partition's rows."""
    script = tmp_path / "no_guard.py"
    script.write_text(
        "from flint_bench.simulator import simulation\n"
        "from flint_bench.simulator.backends.process import ProcessBackend\n"
        "from flint_bench.simulator.config import parse\n"
        "import sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent.parent.parent)!r})\n"
        "from tests.simulator.helpers import raw_config\n"
        "setup = simulation.prepare(parse(raw_config('fedbuff', sim={'train': True, 'executors': 2}), 'sim.toml'))\n"
        "ProcessBackend(simulation.training_data(setup)).close()\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert done.returncode != 0
    assert "exited with code 1 while starting" in done.stderr and 'if __name__ == "__main__":' in done.stderr


def test_a_script_from_standard_input_is_told_to_use_a_file(tmp_path):
    """Spawn re-runs the main script from its path; `python - <<EOF` has none, and the workers died at start-up."""
    script = (
        "from flint_bench.simulator.backends.process import ProcessBackend\n"
        "try:\n"
        "    ProcessBackend(None)\n"  # fails on the main script before it reads its data
        "except Exception as e:\n"
        "    print(type(e).__name__, e)\n"
    )
    done = subprocess.run([sys.executable, "-"], input=script, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert "UserError" in done.stdout and "'<stdin>'" in done.stdout and "Save the script to a file" in done.stdout


def test_model_slots_send_each_version_once_and_keep_the_ones_in_use():
    slots = ModelSlots(capacity=3)
    first, writes = slots.assign([(0, 0), (0, 1)])
    assert writes == [0, 1]
    again, writes = slots.assign([(0, 1), (0, 2)])
    assert writes == [1] and again[0] == first[1]  # version 1 is already there
    _, writes = slots.assign([(0, 2), (0, 3)])  # full: evicts the least recently used, version 0
    assert writes == [1] and (0, 0) not in slots.slots and (0, 2) in slots.slots
    grown, writes = slots.assign([(0, v) for v in range(5)])  # more than fit: a new, bigger table
    assert slots.capacity >= 5 and writes == [0, 1, 2, 3, 4] and len(set(grown.tolist())) == 5


def test_label_ratio_is_realised_and_reported():
    model = load_model("A")
    proxy = build_proxy(model, Proxy(clients=500, mean_records=20, std_records=10, max_records=200, label_ratio=0.05), 0)
    labels = proxy.metadata["labels"]
    assert labels["label_ratio"] == pytest.approx(0.05, abs=0.001) and labels["target_label_ratio"] == 0.05
    assert labels["holdout_label_ratio"] == pytest.approx(0.05, abs=0.001)
    assert proxy.tensors[model.n_features].float().mean().item() == pytest.approx(0.05, abs=0.001)
    lazy = LazyRows(np.full(2000, 5), 0, 7, 0.05)
    rows, _ = lazy.gather(model, np.arange(2000))
    assert rows[model.n_features].float().mean().item() == pytest.approx(0.05, abs=0.01)  # binomial per client
    with pytest.raises(ConfigError, match=r"proxy\.label_ratio"):
        build_proxy(load_model("C"), Proxy(clients=10, label_ratio=0.1), 0)


def test_cli_executors_and_checkpoint_every_override_the_config_but_not_what_resume_compares(tmp_path):
    import json

    from .test_cli import cli, toml_dump

    raw = raw_config("fedbuff", sim={"train": True, "max_aggregations": 6, "eval_every": 3})
    del raw["sim"]["checkpoint_every"]
    cfg_file = toml_dump(raw, tmp_path / "sim.toml")
    out = tmp_path / "out"
    args = ("--executors", "2", "--checkpoint-every", "0.5", "--format", "json")
    r = cli("--config", str(cfg_file), "--out", str(out), *args, timeout=300)
    assert r.returncode == 0, r.stderr
    config = json.loads(r.stdout)["config"]["sim"]
    assert config["executors"] == 2 and config["checkpoint_every_s"] == 0.5
    assert json.loads((out / "config.json").read_text())["sim"] == raw["sim"]  # --resume compares this
    assert (out / "checkpoint.npz").is_file()
