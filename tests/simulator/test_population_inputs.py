"""Explicit simulator inputs (issue 10): how trace devices become proxy clients, each trace device's
measured profile through the coverage mapping, the zero-match warning, and the shipped template."""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from flint_bench.core.errors import ConfigError
from flint_bench.simulator import simulation
from flint_bench.simulator.experiment import simulate
from flint_bench.simulator.trace import Trace, to_clients

from .helpers import raw_config
from .test_cli import toml_dump

ROOT = Path(__file__).resolve().parents[2]


def make_trace(devices: list[int]) -> Trace:
    """A trace with one session per entry of `devices` (device codes), a second apart."""
    codes = np.asarray(devices, dtype=np.int64)
    start = np.arange(len(codes), dtype=float)
    return Trace(start, start + 100.0, codes, int(codes.max()) + 1, None, None, None)


def test_fold_maps_device_i_to_client_i_mod_n_and_counts_what_shares_a_client():
    ct = to_clients(make_trace([0, 1, 2, 3, 4, 4]), 3, "fold", 0, "sim.toml", 3)
    assert ct.client.tolist() == [0, 1, 2, 0, 1, 1]
    assert ct.client_device.tolist() == [0, 1, 2]  # the lowest device of each client picks its profile
    m = ct.mapping
    assert (m["trace_devices"], m["trace_sessions"], m["proxy_clients"]) == (5, 6, 3)
    assert (m["max_devices_per_client"], m["devices_dropped"], m["clients_without_device"]) == (2, 0, 0)
    fewer = to_clients(make_trace([0, 1]), 4, "fold", 0, "sim.toml", 4).mapping
    assert fewer["clients_without_device"] == 2


def test_sample_keeps_one_device_per_client_and_drops_the_others_sessions():
    trace = make_trace([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 3, 3])
    ct = to_clients(trace, 4, "sample", 7, "sim.toml", 4)
    assert sorted(set(ct.client.tolist())) == [0, 1, 2, 3]
    chosen = ct.client_device
    assert len(set(chosen.tolist())) == 4 and (chosen >= 0).all()
    assert ct.mapping["devices_dropped"] == 6
    assert ct.mapping["sessions_replayed"] == int(np.isin(trace.device, chosen).sum()) == len(ct.start)
    again = to_clients(trace, 4, "sample", 7, "sim.toml", 4)
    assert again.client_device.tolist() == chosen.tolist()  # seeded: the same devices in every trial
    with pytest.raises(ConfigError, match=r"trace_to_clients.*'sample'.*3 devices for 4 clients"):
        to_clients(make_trace([0, 1, 2]), 4, "sample", 0, "sim.toml", 4)


def test_one_to_one_refuses_a_dataset_with_another_client_count():
    with pytest.raises(ConfigError, match=r"trace_to_clients.*3 devices.*5 training clients"):
        to_clients(make_trace([0, 1, 2]), 5, "one-to-one", 0, "sim.toml", 5)


def write_trace(path: Path, rows: list[tuple[str, str, str, str | None]], sessions_each: int = 1) -> Path:
    """(device_id, device_model, platform, device_tier) rows, each device with `sessions_each` sessions."""
    records = [
        {
            "device_id": d,
            "start": 10.0 * i + 60.0 * k,
            "end": 10.0 * i + 60.0 * k + 50.0,
            "device_model": m,
            "platform": p,
            "device_tier": t,
        }
        for k in range(sessions_each)
        for i, (d, m, p, t) in enumerate(rows)
    ]
    pd.DataFrame(records).to_csv(path, index=False)
    return path


def write_profiles(path: Path, rows: list[tuple[str, str, str | None, str | None, float]], model: str = "A") -> Path:
    """(device_model, os, platform, device_tier, seconds per example) profile rows of one ML model."""
    pd.DataFrame(
        [
            {
                "device_model": name,
                "os": os_name,
                "os_version": "1",
                "model": model,
                "platform": platform,
                "device_tier": tier,
                "per_example_s_quantiles": [seconds] * 101,
                "peak_memory_mb": 10.0,
                "storage_bytes": 1000,
            }
            for name, os_name, platform, tier, seconds in rows
        ]
    ).to_parquet(path)
    return path


def test_one_to_one_gives_the_proxy_one_client_per_trace_device(tmp_path):
    trace = write_trace(tmp_path / "t.csv", [(f"u{i}", "Pixel 7", "Android", "high") for i in range(7)])
    cfg = raw_config(population={"availability": {"trace": str(trace), "trace_to_clients": "one-to-one"}})
    setup = simulation.prepare(_parse(cfg))
    assert len(setup.sizes) == 7
    m = setup.population["trace"]
    assert (m["trace_devices"], m["proxy_clients"], m["proxy_clients_configured"]) == (7, 7, 400)
    assert "replaced by the trace's device count" in m["description"]


def _parse(raw: dict):
    from flint_bench.simulator.config import parse

    return parse(raw, "sim.toml")


PHONES = [
    ("Pixel 7", "Android", "Android", "high", 0.001),
    ("Galaxy A52", "Android", "Android", "mid", 0.002),
    ("iPhone 13", "iOS", "iOS", "high", 0.003),
]
USERS = [
    ("d0", "pixel  7", "Android", "high"),  # exact (normalised name)
    ("d1", "Redmi Note 9", "Android", "mid"),  # attributes: the measured Android mid device
    ("d2", "Moto G", "Android", "low"),  # unknown: no measured Android low device
    ("d3", "iPhone SE", "iOS", "high"),  # attributes
    ("d4", "Galaxy A10", "Android", "low"),  # the mapping file
]


def test_each_trace_device_gets_the_profile_its_model_maps_to(tmp_path):
    profiles = write_profiles(tmp_path / "p.parquet", PHONES)
    trace = write_trace(tmp_path / "t.csv", USERS, sessions_each=2)
    (tmp_path / "map.csv").write_text("pattern,measured_device\ngalaxy a1*,Galaxy A52\n")
    raw = raw_config(
        population={
            "profiles": str(profiles),
            "device_mapping": str(tmp_path / "map.csv"),
            "availability": {"trace": str(trace), "trace_to_clients": "one-to-one"},
        }
    )
    setup = simulation.prepare(_parse(raw))
    assert setup.classes.device_models == ["Pixel 7", "Galaxy A52", "iPhone 13"]
    assert setup.client_class.tolist() == [0, 1, -1, 2, 1]
    device_class = simulation.make_scheduler(setup, 0).stream.device_class
    assert device_class[[0, 1, 3, 4]].tolist() == [0, 1, 2, 1]  # the fallback client draws from the mix
    pop = setup.population
    assert (pop["clients_with_measured_profile"], pop["clients_on_fallback"]) == (4, 1)
    cov = pop["coverage"]
    assert cov["device_share"] == pytest.approx({"exact": 0.2, "file": 0.2, "attributes": 0.4, "unknown": 0.2})
    assert cov["unmapped"] == ["Moto G"] and setup.warnings == []


def test_the_summary_coverage_figures_are_finite_and_json_safe(tmp_path):
    profiles = write_profiles(tmp_path / "p.parquet", PHONES)
    trace = write_trace(tmp_path / "t.csv", USERS)
    raw = raw_config(population={"profiles": str(profiles), "availability": {"trace": str(trace)}}, proxy={"clients": 20})
    summary = simulate(raw, "sim.toml").summary
    text = json.dumps(summary["population"], allow_nan=False)

    def numbers(x):
        if isinstance(x, dict):
            return [n for v in x.values() for n in numbers(v)]
        if isinstance(x, list):
            return [n for v in x for n in numbers(v)]
        return [x] if isinstance(x, (int, float)) and not isinstance(x, bool) else []

    found = numbers(json.loads(text))
    assert found and all(math.isfinite(n) for n in found)
    assert summary["population"]["trace"]["policy"] == "fold"  # the default
    assert summary["population"]["trace"]["clients_without_device"] == 15


def cli(*args: str):
    from flint_bench.cli import app

    return CliRunner().invoke(app, list(args))


def test_a_population_matching_no_measured_device_warns_and_fails_with_strict(tmp_path):
    # the local farm's host profile stands for no phone: before, every device silently got its class
    profiles = write_profiles(tmp_path / "p.parquet", [("vm (local-cpu)", "Linux", None, None, 0.001)])
    trace = write_trace(tmp_path / "t.csv", USERS)
    raw = raw_config(population={"profiles": str(profiles), "availability": {"trace": str(trace)}}, proxy={"clients": 20})
    config = toml_dump(raw, tmp_path / "sim.toml")
    plain = cli("simulate", "-c", str(config), "--quiet")
    assert plain.exit_code == 0, plain.output
    assert "warning: simulator population: no device model" in plain.stderr
    assert "unknown" in plain.stdout and "100.0%" in plain.stdout
    strict = cli("simulate", "-c", str(config), "--quiet", "--strict", "--format", "json")
    assert strict.exit_code == 1
    doc = json.loads(strict.stdout)
    assert doc["warnings"] and doc["population"]["clients_on_fallback"] == 20


def test_a_trace_with_models_but_no_platform_is_exit_2_naming_the_key(tmp_path):
    profiles = write_profiles(tmp_path / "p.parquet", PHONES)
    trace = tmp_path / "t.csv"
    trace.write_text("device_id,start,end,device_model\n1,0,10,Pixel 7\n")
    raw = raw_config(population={"profiles": str(profiles), "availability": {"trace": str(trace)}})
    with pytest.raises(ConfigError, match=r"population.availability.trace.*no platform column"):
        simulation.prepare(_parse(raw))


def test_the_shipped_measured_template_runs_on_tiny_generated_inputs(tmp_path):
    raw = tomllib.loads((ROOT / "configs" / "sim-measured.toml").read_text())
    assert raw["population"]["availability"]["trace_to_clients"] == "one-to-one"
    raw["population"]["profiles"] = str(write_profiles(tmp_path / "p.parquet", PHONES))
    users = [(f"{d}-{k}", m, p, t) for k in range(4) for d, m, p, t in USERS]
    raw["population"]["availability"]["trace"] = str(write_trace(tmp_path / "t.csv", users, sessions_each=30))
    raw["sim"].update(trials=1, train=False, max_aggregations=5)  # system only: the template's inputs, quickly
    raw["fedbuff"].update(concurrency=4, buffer=2)
    summary = simulate(raw, str(ROOT / "configs" / "sim-measured.toml")).summary
    assert summary["metrics"]["aggregations"]["median"] == 5
    assert summary["population"]["trace"]["proxy_clients"] == 20
    assert summary["population"]["clients_with_measured_profile"] == 12  # no mapping file: the low-tier phones are unknown
