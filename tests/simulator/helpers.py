"""Small configs for the simulator tests (tiny populations so every test runs in seconds)."""

from __future__ import annotations

from flint_bench.simulator.config import parse


def raw_config(mode: str = "fedbuff", **sections) -> dict:
    raw = {
        "sim": {
            "model": "A",
            "mode": mode,
            "trials": 1,
            "seed": 0,
            "max_aggregations": 20,
            "eval_every": 5,
            "centralized_epochs": 0,
            "train": False,
            "executors": 1,  # more spawn worker processes (tests/simulator/test_executors.py)
            "checkpoint_every": 1,  # with --out: a checkpoint after every aggregation (the default is every 30 s)
        },
        "fedavg": {"cohort": 10, "overcommit": 1.3},
        "fedbuff": {"concurrency": 13, "buffer": 10, "max_staleness": 5},
        "proxy": {"clients": 400, "mean_records": 8, "std_records": 0, "max_records": 100, "holdout": 500},
        "population": {
            "classes": [{"name": "all", "per_example_s": {"dist": "constant", "median": 1.0}}],
            "bandwidth": "100",
            "availability": {"always": True},
        },
    }
    for name, values in sections.items():
        raw[name] = {**raw.get(name, {}), **values}
    return raw


def config(mode: str = "fedbuff", **sections):
    return parse(raw_config(mode, **sections), "test.toml")
