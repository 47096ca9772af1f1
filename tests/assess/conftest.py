"""A small assess setup: model A benchmarked once on one emulated mid-tier Android class (a results
folder every test reuses), a tiny synthetic log, a small proxy."""

from __future__ import annotations

from pathlib import Path

import pytest

RULES = """
all_of = ["wifi", "battery"]
[[criteria]]
name = "wifi"
field = "wifi"
op = "=="
value = true
[[criteria]]
name = "battery"
field = "battery"
op = ">="
value = {battery}
"""

BUDGETS = """
[targets.small]
kind = "third_party"
max_storage_mb = {storage}
max_task_seconds = 300
min_os_version = {{ Android = "9", iOS = "14" }}
"""

CONFIG = """
models = ["A"]
rules = "rules.toml"
budgets = "budgets.toml"
modes = ["fedavg", "fedbuff"]
trials = 2
target_metric = {{ A = 0.5 }}
{extra}
[benchmark]
results = "{results}"
[sessions]
devices = 300
days = 1
[cost]
farm_device_hour = 10.0
aggregator_gb = 0.1
[simulator.sim]
max_aggregations = 10
eval_every = 5
centralized_epochs = 1
[simulator.fedavg]
cohort = 5
[simulator.fedbuff]
concurrency = 5
buffer = 3
[simulator.proxy]
clients = 60
mean_records = 10
std_records = 10
max_records = 100
holdout = 300
"""


@pytest.fixture(scope="session")
def a_results(tmp_path_factory) -> Path:
    from flint_bench.farms import FarmFile, open_farm
    from flint_bench.farms.base import RunSettings
    from flint_bench.farms.local import DeviceClass, LocalSettings
    from flint_bench.runner import run_benchmarks
    from flint_bench.zoo import load_models

    out = tmp_path_factory.mktemp("a-results")
    settings = LocalSettings(devices=[DeviceClass(name="phone", platform="Android", tier="mid", threads=1)])
    with open_farm(FarmFile(kind="local", name="local", settings=settings)) as farm:
        run_benchmarks(farm, load_models(["A"]), RunSettings(examples=32, repeats=1, warmup_steps=1), out)
    return out


@pytest.fixture
def assess_dir(tmp_path, a_results):
    """Write an assess config (and its rules and budgets) into a fresh folder; returns a writer."""

    def make(battery: int = 50, storage: float = 10.0, extra: str = "", config: str | None = None) -> Path:
        (tmp_path / "rules.toml").write_text(RULES.format(battery=battery))
        (tmp_path / "budgets.toml").write_text(BUDGETS.format(storage=storage))
        path = tmp_path / "assess.toml"
        path.write_text(config if config is not None else CONFIG.format(results=a_results, extra=extra))
        return path

    return make
