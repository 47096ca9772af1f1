"""The virtual clock: selection, interruption, staleness, and FedAvg vs FedBuff timing (Table 3 direction)."""

from __future__ import annotations

import numpy as np
import pytest

from flint_bench.simulator import simulation
from flint_bench.simulator.clock import FedAvgScheduler, FedBuffScheduler

from .helpers import config


class ListStream:
    """A hand-written session stream: (start, end, device, class, duration) rows, sorted by start."""

    def __init__(self, rows):
        self.rows = rows

    def next_chunk(self):
        if self.rows is None:
            return None
        rows, self.rows = self.rows, None
        cols = list(zip(*rows))
        return tuple(np.array(c, dtype=float if i in (0, 1, 4) else np.int64) for i, c in enumerate(cols))


def test_fedavg_round_keeps_first_cohort_and_counts_stragglers_and_interruptions():
    inf = np.inf
    rows = [(0, inf, 0, 0, 5.0), (0, inf, 1, 0, 1.0), (0, 2.0, 2, 0, 3.0),  # device 2 leaves at t=2: interrupted
            (0, inf, 3, 0, 2.0), (0, inf, 4, 0, 9.0)]
    s = FedAvgScheduler(ListStream(rows), 5, 1, cohort=2, overcommit=2.5, deadline_s=None)
    agg = s.next_aggregation()
    assert sorted(agg.clients.tolist()) == [1, 3]  # the two fastest successes
    assert agg.time_s == 2.0
    c = s.c
    assert (c.started, c.succeeded, c.interrupted, c.stale) == (5, 2, 1, 2)
    # compute: 1 + 2 (aggregated) + 2 (interrupted at t=2) + 2 + 2 (stragglers cancelled at the close t=2)
    assert c.compute_s == pytest.approx(9.0)
    assert s.next_aggregation() is None  # no more sessions


def test_fedbuff_never_reselects_in_flight_device_and_interrupts_at_session_end():
    inf = np.inf
    # device 0 checks in twice while its first task runs: the second check-in must be skipped
    rows = [(0, inf, 0, 0, 10.0), (1, inf, 0, 0, 1.0), (2, inf, 1, 0, 1.0), (3, 3.5, 2, 0, 4.0), (4, inf, 3, 0, 1.0)]
    s = FedBuffScheduler(ListStream(rows), 4, 1, concurrency=10, buffer=3, max_staleness=5)
    agg = s.next_aggregation()
    assert sorted(agg.clients.tolist()) == [0, 1, 3]
    assert s.c.started == 4  # device 0's second check-in was not used
    assert s.c.interrupted == 1  # device 2's session ended at 3.5, before its task could finish
    assert agg.time_s == 10.0


def test_stale_updates_are_never_aggregated_and_are_counted():
    cfg = config("fedbuff", fedbuff={"concurrency": 40, "buffer": 4, "max_staleness": 2},
                 population={"classes": [{"name": "tail", "per_example_s": {"median": 1.0, "sigma": 1.5}}]},
                 sim={"max_aggregations": 60})
    sched = simulation.make_scheduler(simulation.prepare(cfg), 0)
    aggregated = 0
    while sched.c.aggregations < 60:
        agg = sched.next_aggregation()
        assert agg.staleness.max() <= 2
        assert (agg.start_versions >= agg.index - 2).all()
        aggregated += len(agg.clients)
    c = sched.c
    assert c.stale > 0
    assert c.succeeded == aggregated
    assert c.uploads == c.succeeded + c.stale  # stale updates were received, then dropped


def test_identical_durations_same_virtual_time_per_aggregation():
    """Constant task durations: FedAvg (cohort 10) and FedBuff (concurrency = buffer = 10) take the same time for 20 aggregations."""
    hours = {}
    for mode in ("fedavg", "fedbuff"):
        cfg = config(mode, fedavg={"overcommit": 1.0}, fedbuff={"concurrency": 10, "buffer": 10}, sim={"max_aggregations": 20})
        s = simulation.run(cfg, {}, None)
        hours[mode] = s["metrics"]["virtual_hours"]["median"]
        assert s["metrics"]["aggregations"]["median"] == 20
    assert hours["fedbuff"] == pytest.approx(hours["fedavg"], rel=0.05)


def _time_to_target(mode: str, sigma: float) -> float:
    cfg = config(mode, sim={"train": True, "target_metric": 0.8, "max_aggregations": 300, "eval_every": 1, "client_lr": 0.1, "trials": 3},
                 proxy={"mean_records": 20, "std_records": 0},
                 population={"classes": [{"name": "all", "per_example_s": {"median": 1.0, "sigma": sigma}}]},
                 fedavg={"cohort": 10, "overcommit": 1.3}, fedbuff={"concurrency": 13, "buffer": 10, "max_staleness": 10})
    m = simulation.run(cfg, {}, None)["metrics"]["virtual_hours_to_target"]
    assert m["n"] == 3, "every trial must reach the target"
    return m["median"]


def test_fedbuff_speedup_grows_with_duration_spread():
    """Same devices in flight (FedAvg 10 x 1.3 over-commit, FedBuff concurrency 13, buffer 10): about equal
    with identical durations, FedBuff sooner to the target with heavy-tailed durations (Table 3 direction)."""
    same = _time_to_target("fedavg", 0.0) / _time_to_target("fedbuff", 0.0)
    heavy = _time_to_target("fedavg", 1.5) / _time_to_target("fedbuff", 1.5)
    assert 0.7 < same < 1.3
    assert heavy > 1.15
    assert heavy > same
