"""Schema 2 in the profiles and budgets: CPU as a share of the device (the budgets' figure), network
per FL task (2 x M) beside the program download, and the two labelled stdevs."""

from __future__ import annotations

import pytest

from flint_bench.budgets import Budgets, Target, check_compat, check_record, load_budgets
from flint_bench.core.errors import ConfigError
from flint_bench.profiles import build_profiles


def _with_repeats(record: dict, per_5000: list[float]) -> dict:
    record["timing"]["seconds_per_5000"] = {"mean": sum(per_5000) / len(per_5000), "std": 0.0, "values": per_5000}
    return record


def test_profile_columns_have_the_papers_meanings(make_record):
    # two phones of one model (8 cores each): 120% of one core is 15% of the device
    a = _with_repeats(make_record("m", "Pixel 7", "Android", "14", [0.01] * 8, device_id="p1", cpu=120.0), [50.0, 52.0])
    b = _with_repeats(make_record("m", "Pixel 7", "Android", "14", [0.01] * 8, device_id="p2", cpu=80.0), [60.0, 64.0])
    (row,) = build_profiles([a, b]).to_dict(orient="records")
    assert row["cpu_mean_percent"] == 120.0 and row["cpu_device_percent"] == pytest.approx(15.0)  # worst device
    assert row["network_bytes"] == 2 * 756_000 and row["program_bytes"] == 760_000
    assert row["s_per_5000_mean"] == pytest.approx((51.0 + 62.0) / 2)
    assert row["s_per_5000_std_repeats"] == pytest.approx((1.4142135 + 2.8284271) / 2)
    assert row["s_per_5000_std_devices"] == pytest.approx(7.7781746)


def test_cpu_budgets_use_the_device_share(make_record):
    phone = make_record("m", "Pixel 7", "Android", "14", [0.01] * 8, cpu=120.0)  # 15% of an 8-core device
    assert check_record("t", Target(max_cpu_percent=20), phone) == []
    (breach,) = check_record("t", Target(max_cpu_percent=10), phone)
    assert breach.metric == "cpu_percent" and breach.value == pytest.approx(15.0) and "of the device" in breach.reason
    frame = build_profiles([phone])
    (row,) = check_compat(frame, Budgets({"t": Target(max_cpu_percent=10)})).to_dict(orient="records")
    assert row["compatible"] is False and any("15% of the device > limit 10%" in r for r in row["reasons"])
    # a device without a core count: its share is unknown, and a CPU budget cannot judge it
    phone["device"]["cores"] = None
    (row,) = check_compat(build_profiles([phone]), Budgets({"t": Target(max_cpu_percent=10)})).to_dict(orient="records")
    assert row["unknown"] == ["cpu_percent"]


def test_a_per_core_cpu_budget_is_refused(write):
    """A version-1 budget of 150 (% of one core) cannot mean a share of the device: exit 2, not a silent reading."""
    with pytest.raises(ConfigError, match="max_cpu_percent"):
        load_budgets(write("b.toml", "[targets.t]\nmax_cpu_percent = 150\n"))
    assert load_budgets(write("ok.toml", "[targets.t]\nmax_cpu_percent = 25\n")).targets["t"].max_cpu_percent == 25
