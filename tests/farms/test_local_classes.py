"""Local device classes that differ for real: the CPU cap and ExecuTorch thread count reach the
worker and the record says how; stability, energy and a sustained run come with the record."""

import math

import pytest

from flint_bench.bench.cpucap import find_hierarchy
from flint_bench.core import contract
from flint_bench.core.config import from_dict
from flint_bench.core.errors import ConfigError
from flint_bench.farms import FarmFile, open_farm
from flint_bench.farms.base import RunSettings
from flint_bench.farms.local import DeviceClass, LocalSettings
from flint_bench.runner import run_benchmarks
from flint_bench.zoo import load_models


def test_a_capped_class_records_its_cap_threads_stability_energy_and_sustained_throughput(tmp_path):
    cls = DeviceClass("low", tier="low", threads=1, cpu_affinity=[0], cpu_max=0.5)
    farm = open_farm(FarmFile(kind="local", name="lab", settings=LocalSettings(devices=[cls])))
    settings = RunSettings(examples=64, repeats=2, warmup_steps=1, sustained_minutes=0.03)  # 1.8 s sustained
    with farm:
        (record,) = run_benchmarks(farm, load_models(["A"]), settings, tmp_path).records
    contract.validate("result", record)
    assert record["status"] == "ok", record["error"]
    assert record["runtime"]["threads"] == 1  # what ExecuTorch's pool had
    method = record["conditions"]["cpu_cap"]
    assert method.startswith("cgroup" if find_hierarchy() else "duty cycle") and "0.5 cores" in method
    assert record["cpu"]["mean_percent"] <= 50 * 1.2  # the worker got no more than its half core
    stability = record["stability"]
    assert stability["n"] == sum(len(r) for r in record["timing"]["step_seconds"]) and 0 <= stability["score"] <= 1
    assert record["energy"]["method"] == "rapl" or (
        record["energy"]["joules"] is None and record["energy"]["method"].startswith("not measured")
    )
    sustained = record["sustained"]
    assert sustained["minutes"] == pytest.approx(0.03) and len(sustained["windows"]) >= 5
    assert all(w["examples_per_s"] > 0 for w in sustained["windows"])
    assert sustained["windows"][-1]["t_s"] < 1.8 and sustained["first_last_ratio"] > 0
    assert not list(find_hierarchy().parent.glob("flint-*")) if find_hierarchy() else True  # no group left behind


def test_class_compute_in_cores():
    assert DeviceClass("a", threads=1, cpu_affinity=[0, 1], cpu_max=0.3).cores == 0.3
    assert DeviceClass("b", threads=1, cpu_affinity=[0, 1]).cores == 1
    assert DeviceClass("c", threads=2, cpu_affinity=[0, 1], cpu_max=4).cores == 2


@pytest.mark.parametrize("value", [0, -1, math.nan, math.inf, 1e9])
def test_sustained_minutes_must_be_finite_and_positive(value):
    with pytest.raises(ConfigError, match="sustained_minutes"):
        from_dict(RunSettings, {"sustained_minutes": value}, "farm.toml", "run.")


@pytest.mark.parametrize("value", [0, -0.5, math.nan, 2000])
def test_cpu_max_is_bounded(value):
    with pytest.raises(ConfigError, match="cpu_max"):
        from_dict(LocalSettings, {"devices": [{"name": "x", "cpu_max": value}]}, "farm.toml", "local.")


def test_run_refuses_a_bad_sustained_flag(cli):
    code, _, err = cli("run", "--model", "A", "--sustained", "0")
    assert code == 2 and "--sustained" in err
