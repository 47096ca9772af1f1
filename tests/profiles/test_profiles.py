"""Device profiles from result records, inverse-CDF sampling, budgets and the compat verdicts."""

import json

import numpy as np
import pandas as pd
import pytest

from flint_bench.budgets import check_compat, load_budgets
from flint_bench.core.errors import ConfigError
from flint_bench.profiles import build_profiles, read_profiles, sample_per_example_seconds, write_profiles

BUDGETS = """
[targets.third_party]
kind = "third_party"
max_memory_mb = 16
max_task_seconds = 60
task_examples = 1000
min_os_version = { Android = "10", iOS = "15" }

[targets.first_party]
max_task_seconds = 600
task_examples = 1000
task_quantile = 50
"""


def _records(make_record):
    rng = np.random.default_rng(0)
    fast, slow = list(rng.uniform(0.010, 0.020, 40)), list(rng.uniform(0.100, 0.300, 40))
    return [
        make_record("B", "Pixel 7", "Android", "14", fast[:20], device_id="p7a"),
        make_record("B", "Pixel 7", "Android", "14", fast[20:], device_id="p7b", peak_delta_mb=12.0),
        make_record("B", "Galaxy A10", "Android", "9", slow, peak_delta_mb=20.0),
        make_record("B", "Galaxy A10", "Android", "9", [], device_id="broken", status="failed"),
        make_record("B", "iPhone 11", "iOS", "17.2", fast),
        make_record("X", "Pixel 7", "Android", "14", [], status="failed"),
    ]


def test_profiles_pool_devices_of_a_model_and_keep_the_distribution(make_record):
    frame = build_profiles(_records(make_record))
    assert list(frame[["device_model", "os", "os_version", "model"]].itertuples(index=False, name=None)) == [
        ("Galaxy A10", "Android", "9", "B"),
        ("Pixel 7", "Android", "14", "B"),
        ("iPhone 11", "iOS", "17.2", "B"),
    ]
    p7 = frame.set_index("device_model").loc["Pixel 7"]
    assert p7["n_devices"] == 2 and p7["n_samples"] == 40 and p7["n_failed"] == 0
    assert p7["peak_memory_mb"] == 12.0  # the worst device of the model
    q = np.asarray(p7["per_example_s_quantiles"])
    assert q.size == 101 and np.all(np.diff(q) >= 0) and q[0] >= 0.010 and q[-1] <= 0.020
    assert q[50] == pytest.approx(p7["per_example_s_p50"]) and q[99] == pytest.approx(p7["per_example_s_p99"])
    assert frame.set_index("device_model").loc["Galaxy A10", "n_failed"] == 1  # the failed device is counted, not profiled
    assert "X" not in set(frame["model"])  # no ok record, no timing: no row


def test_parquet_round_trip(make_record, tmp_path):
    frame = build_profiles(_records(make_record))
    back = read_profiles(write_profiles(frame, tmp_path / "p.parquet"))
    assert len(back) == 3 and list(back["per_example_s_quantiles"].iloc[0]) == frame["per_example_s_quantiles"].iloc[0]


def test_sampling_follows_the_sketch():
    rng = np.random.default_rng(1)
    raw = rng.lognormal(np.log(0.01), 0.5, 20_000)
    q = np.quantile(raw, np.linspace(0, 1, 101))
    draws = sample_per_example_seconds(q, np.random.default_rng(2), 50_000)
    assert draws.min() >= q[0] and draws.max() <= q[-1]
    for p in (10, 50, 90):
        assert abs(np.percentile(draws, p) - np.percentile(raw, p)) / np.percentile(raw, p) < 0.03
    with pytest.raises(ValueError):
        sample_per_example_seconds([0.2, 0.1], rng, 3)


def test_profiles_from_the_local_farm(local_results):
    from flint_bench.core.results import load_records

    frame = build_profiles(load_records(local_results))
    assert set(frame["model"]) == {"A", "B"} and (frame["n_samples"] > 0).all()
    b = frame.set_index("model").loc["B"]
    assert (
        b["storage_bytes"] > 0 and b["per_example_s_quantiles"][0] <= b["per_example_s_mean"] <= b["per_example_s_quantiles"][-1]
    )


def test_compat_says_why(make_record, write):
    budgets = load_budgets(write("b.toml", BUDGETS))
    assert budgets.targets["third_party"].storage_limit_mb == 1.0  # paper 4.1 default by kind
    assert budgets.targets["first_party"].storage_limit_mb == 10.0
    v = check_compat(build_profiles(_records(make_record)), budgets).set_index(["target", "device_model"])
    assert v.loc[("third_party", "Pixel 7"), "compatible"] and v.loc[("third_party", "iPhone 11"), "compatible"]
    a10 = v.loc[("third_party", "Galaxy A10")]
    assert not a10["compatible"] and not a10["device_ok"] and not a10["os_ok"]
    reasons = " | ".join(a10["reasons"])
    assert "peak memory 20 MB > limit 16 MB" in reasons and "Android 9 < minimum 10" in reasons
    assert "worst-case task" in reasons and "at p99" in reasons  # p99 of 0.1-0.3 s x 1000 examples > 60 s
    assert v.loc[("first_party", "Galaxy A10"), "compatible"]  # p50 x 1000 < 600 s, no OS minimum


def test_storage_budget_is_strict_and_per_kind(make_record, write):
    budgets = load_budgets(write("b.toml", '[targets.t]\nkind = "third_party"\n'))
    rec = make_record("D", "Pixel 7", "Android", "14", [0.01] * 8, storage_bytes=1_000_000)
    v = check_compat(build_profiles([rec]), budgets)
    assert v["reasons"].iloc[0] == ["storage 1 MB >= limit 1 MB"]


@pytest.mark.parametrize(
    "text, key",
    [
        ("[targets.t]\nmax_memory_mb = -1\n", "targets.t.max_memory_mb"),
        ('[targets.t]\nmin_os_version = { iOS = "latest" }\n', "targets.t.min_os_version.iOS"),
        ('[targets.t]\nkind = "second_party"\n', "targets.t.kind"),
        ("[targets.t]\nmax_ram = 3\n", "targets.t.max_ram"),
        ("", "targets"),
    ],
)
def test_bad_budgets_name_the_key(write, text, key):
    with pytest.raises(ConfigError) as e:
        load_budgets(write("b.toml", text))
    assert e.value.key == key and e.value.file.endswith("b.toml")


def test_cli_profiles_and_compat(make_record, tmp_path, write, flint, flint_json, local_results):
    out = tmp_path / "profiles.parquet"
    doc = flint_json("profiles", "build", "--results", local_results, "--out", out)
    assert doc["rows"] == 2 and pd.read_parquet(out).shape[0] == 2
    shown = flint("profiles", "show", out, "--model", "B").stdout
    assert "device profiles" in shown and "│ B " in shown and "│ A " not in shown
    phones = tmp_path / "phones.parquet"
    write_profiles(build_profiles(_records(make_record)), phones)
    doc = flint_json("compat", "--profiles", phones, "--budgets", write("b.toml", BUDGETS), "--target", "third_party")
    (row,) = doc["summary"]
    assert row["compatible"] == 2 and row["excluded"][0]["device_model"] == "Galaxy A10" and row["excluded"][0]["reasons"]
    proc = flint("compat", "--profiles", tmp_path / "missing.parquet", "--budgets", write("c.toml", BUDGETS), expect=2)
    assert "missing.parquet: profiles file not found" in proc.stderr
    # with --format json the error is the one JSON document on stdout, with the same exit code
    proc = flint(
        "compat", "--profiles", tmp_path / "missing.parquet", "--budgets", write("d.toml", BUDGETS), "--format", "json", expect=2
    )
    error = json.loads(proc.stdout)["error"]
    assert error["exit_code"] == 2 and "profiles file not found" in error["message"]


def test_profiles_carry_the_platform_and_tier_a_device_stands_for(make_record, tmp_path):
    stand_in = make_record("E", "vm", "Linux", "6.1", [0.01] * 8)
    stand_in["device"] |= {"device_class": "low-end", "platform": "Android", "tier": "low"}
    old_phone = make_record("E", "Pixel 7", "android", "14", [0.01] * 8)  # a record from before the fields
    old_host = make_record("E", "vm", "Linux", "6.1", [0.01] * 8)
    rows = build_profiles([stand_in, old_phone, old_host]).set_index("device_model")
    assert (rows.loc["vm (low-end)", "platform"], rows.loc["vm (low-end)", "device_tier"]) == ("Android", "low")
    assert rows.loc["Pixel 7", "platform"] == "Android" and pd.isna(rows.loc["Pixel 7", "device_tier"])
    assert pd.isna(rows.loc["vm", "platform"])  # a host OS is no user's platform
    old_file = tmp_path / "old.parquet"
    build_profiles([old_phone]).drop(columns=["platform", "device_tier"]).to_parquet(old_file)
    frame = read_profiles(old_file)
    assert frame["platform"].isna().all() and frame["device_tier"].isna().all()
