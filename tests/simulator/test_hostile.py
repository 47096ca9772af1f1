"""Hostile settings and data files: every one is exit 2 naming the key or the file, never a traceback or a hang."""

from __future__ import annotations

import json
import pickle
import re

import numpy as np
import pytest

from flint_bench.core.errors import ConfigError, UserError
from flint_bench.simulator.config import parse
from flint_bench.simulator.outputs import write_json
from flint_bench.simulator.population import bandwidth_sampler
from flint_bench.simulator.proxy import build_proxy
from flint_bench.simulator.simulation import prepare
from flint_bench.zoo import load_model

from .helpers import raw_config
from .test_cli import cli, toml_dump

BAD = "@@BAD@@"


@pytest.mark.parametrize(
    "path, literal",
    [
        (("fedavg", "overcommit"), "inf"),
        (("population", "classes", 0, "share"), "inf"),
        (("population", "availability", "checkins_per_device_per_day"), "nan"),
        (("proxy", "holdout"), "-5"),
        (("proxy", "clients"), str(2**63 - 1)),
        (("population", "classes", 0, "per_example_s", "median"), "nan"),
        (("population", "bandwidth"), '"nan"'),
        (("sim", "client_lr"), "nan"),
        (("sim", "time_budget_hours"), "-1"),
        (("proxy", "min_records"), "-3"),
        (("sim", "client_batch_size"), "-4"),
        (("population", "availability", "peak_hour"), "99"),
    ],
    ids=lambda x: x if isinstance(x, str) else ".".join(map(str, x)),
)
def test_each_hostile_setting_of_the_issue_is_exit_2_naming_the_key(tmp_path, path, literal):
    raw = raw_config("fedavg", population={"availability": {}})
    node = raw
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = BAD
    text = toml_dump(raw, tmp_path / "bad.toml").read_text().replace(json.dumps(BAD), literal)
    (tmp_path / "bad.toml").write_text(text)
    r = cli("--config", str(tmp_path / "bad.toml"))
    key = ".".join(f"[{p}]" if isinstance(p, int) else p for p in path).replace(".[", "[")
    assert r.returncode == 2, r.stderr
    assert f"'{key}'" in r.stderr and "bad.toml" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize(
    "section, values, key",
    [
        ("sim", {"seed": -1}, "sim.seed"),
        ("sim", {"server_lr": 0.0}, "sim.server_lr"),
        ("sim", {"lr_step_gamma": 0.0}, "sim.lr_step_gamma"),
        ("sim", {"trials": 2**40}, "sim.trials"),
        ("proxy", {"version": -1}, "proxy.version"),
        ("fedavg", {"round_deadline_s": 0.0}, "fedavg.round_deadline_s"),
        ("fedbuff", {"concurrency": 0}, "fedbuff.concurrency"),
        ("population", {"bandwidth": "inf"}, "population.bandwidth"),
        ("population", {"bandwidth": "-3"}, "population.bandwidth"),
        ("population", {"availability": {"peak_hour": 24.0}}, "population.availability.peak_hour"),
        (
            "population",
            {"availability": {"checkins_per_device_per_day": 1e-320}},
            "population.availability.checkins_per_device_per_day",
        ),
    ],
)
def test_more_ranges_name_the_key(section, values, key):
    with pytest.raises(ConfigError, match=re.escape(f"'{key}'")):
        parse(raw_config("fedbuff", **{section: values}), "sim.toml")


@pytest.fixture
def dataset(tmp_path):
    """Writes a proxy dataset for model A with arrays changed by `edit`; returns its config."""

    def write(edit=lambda arrays: arrays, raw_bytes: bytes | None = None):
        path = tmp_path / "real.npz"
        if raw_bytes is not None:
            path.write_bytes(raw_bytes)
        else:
            ids = np.arange(300) % 30
            arrays = {f"input_{i}": a.numpy() for i, a in enumerate(load_model("A").make_data(len(ids), 5))}
            np.savez(path, **edit({"client_id": ids, **arrays}))
        return parse(raw_config("fedbuff", proxy={"dataset": "real.npz"}, sim={"train": True}), str(tmp_path / "sim.toml"))

    return write


def _object_array(arrays):
    arrays["client_id"] = np.array([f"c{i % 30}" for i in range(300)], dtype=object)
    return arrays


@pytest.mark.parametrize(
    "edit, problem",
    [
        (lambda a: {**a, "input_0": a["input_0"][:-5]}, "shape"),  # fewer feature rows than ids
        (lambda a: {**a, "input_0": a["input_0"][:, :-1]}, "shape"),  # a feature missing
        (lambda a: {k: v[:0] for k, v in a.items()}, "at least two distinct ids"),  # empty arrays
        (_object_array, "not a readable .npz"),  # would need pickle
        (lambda a: {**a, "input_0": np.full_like(a["input_0"], np.nan)}, "NaN"),
        (lambda a: {**a, "input_0": a["input_0"].astype(str)}, "holds <U"),
        (lambda a: {k: v for k, v in a.items() if k != "client_id"}, "client_id"),
    ],
    ids=["rows", "features", "empty", "object", "nan", "strings", "no-ids"],
)
def test_a_malformed_dataset_names_the_key_and_the_file(dataset, edit, problem):
    cfg = dataset(edit)
    with pytest.raises(ConfigError, match=r"'proxy\.dataset'.*real\.npz") as e:
        build_proxy(load_model("A"), cfg.proxy, 0, cfg.file)
    assert problem in str(e.value)


@pytest.mark.parametrize("content", [b"", b"not a zip at all", pickle.dumps({"x": 1})], ids=["empty", "garbage", "pickle"])
def test_a_dataset_that_is_not_an_npz_names_the_file(dataset, content):
    cfg = dataset(raw_bytes=content)
    with pytest.raises(ConfigError, match=r"'proxy\.dataset'.*real\.npz: not a readable \.npz"):
        build_proxy(load_model("A"), cfg.proxy, 0, cfg.file)


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"mbit_per_s\nfast\nslow\n", "finite numbers"),
        (b"mbit_per_s\n", "at least one row"),
        (b"mbit_per_s\n10\n-1\n", "> 0"),
        (b"mbit_per_s\n10\nnan\n", "finite numbers"),
        (b"\xff\xfe\x00garbage\x00\n", "not a readable bandwidth CSV"),
    ],
    ids=["words", "no-rows", "negative", "nan", "binary"],
)
def test_a_malformed_bandwidth_csv_names_the_file(tmp_path, content, problem):
    path = tmp_path / "bw.csv"
    path.write_bytes(content)
    with pytest.raises(UserError, match=re.escape(str(path))) as e:
        bandwidth_sampler(str(path), "sim.toml")
    assert problem in str(e.value)


def test_a_profiles_file_that_is_not_parquet_names_the_file(tmp_path):
    profiles = tmp_path / "profiles.parquet"
    profiles.write_bytes(b"PAR1 but not really")
    cfg = parse(raw_config("fedbuff", population={"profiles": str(profiles)}), "sim.toml")
    with pytest.raises(UserError, match=re.escape(f"{profiles}: not a Parquet file")):
        prepare(cfg)


def test_profile_quantiles_that_are_not_finite_name_the_file(tmp_path):
    import pandas as pd

    profiles = tmp_path / "profiles.parquet"
    row = {"device_model": "P", "os": "android", "os_version": "14", "model": "A", "peak_memory_mb": 1.0, "storage_bytes": 1}
    pd.DataFrame([{**row, "per_example_s_quantiles": [0.001] * 100 + [float("nan")]}]).to_parquet(profiles)
    cfg = parse(raw_config("fedbuff", population={"profiles": str(profiles)}), "sim.toml")
    with pytest.raises(UserError, match=re.escape(f"{profiles}: model 'A' has a row")):
        prepare(cfg)


def test_a_trace_with_times_that_are_not_numbers_names_the_file(tmp_path):
    trace = tmp_path / "trace.csv"
    trace.write_text("device_id,start,end\n1,0,soon\n")
    cfg = parse(raw_config("fedbuff", population={"availability": {"trace": str(trace)}}), "sim.toml")
    with pytest.raises(UserError, match=re.escape(f"{trace}: column 'end'")):
        prepare(cfg)


def test_json_outputs_write_non_finite_figures_as_null(tmp_path):
    write_json(tmp_path / "summary.json", {"final_metric": float("nan"), "per_trial": [{"loss": float("inf")}], "n": 1})
    assert json.loads((tmp_path / "summary.json").read_text()) == {"final_metric": None, "per_trial": [{"loss": None}], "n": 1}
