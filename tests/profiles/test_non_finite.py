"""Issue 12: a profile figure that is missing, NaN or infinite (a Parquet file carries them) is
"unknown" to compat: never compatible, shown as such, and null in JSON."""

from __future__ import annotations

import json
import math

import pytest
from properties.gen import valid_record

from flint_bench.budgets import Budgets, Target, check_compat
from flint_bench.core.records import RecordError
from flint_bench.profiles import build_profiles, write_profiles

BUDGETS = "[targets.t]\nmax_memory_mb = 50\nmax_task_seconds = 100\n"


def _profiles(tmp_path, **cells):
    frame = build_profiles([valid_record()])
    for column, value in cells.items():
        frame[column] = frame[column].astype(object)
        frame.at[0, column] = value
    return write_profiles(frame, tmp_path / "profiles.parquet")


def _strict(text):
    def refuse(name):
        raise AssertionError(f"non-JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize(
    "cells, unknown",
    [
        ({"peak_memory_mb": math.nan}, ["memory_mb"]),
        ({"peak_memory_mb": math.inf}, ["memory_mb"]),
        ({"peak_memory_mb": None}, ["memory_mb"]),
        ({"per_example_s_quantiles": [0.001, math.nan]}, ["task_seconds"]),
        ({"storage_bytes": None}, ["storage_mb"]),  # was read as 0 MB: within every storage limit
    ],
)
def test_an_unknown_profile_figure_is_never_compatible(tmp_path, write, cli, cells, unknown):
    profiles, budgets = _profiles(tmp_path, **cells), write("budgets.toml", BUDGETS)
    code, out, err = cli("compat", "--profiles", profiles, "--budgets", budgets, "--format", "json")
    assert code == 0, err
    doc = _strict(out)
    (check,) = doc["checks"]
    assert check["compatible"] is False and check["device_ok"] is False and check["unknown"] == unknown
    assert any("unknown (not measured, or not a finite number)" in r for r in check["reasons"])
    assert doc["summary"][0]["unknown"] == 1 and doc["summary"][0]["compatible"] == 0
    code, out, _ = cli("compat", "--profiles", profiles, "--budgets", budgets)
    assert code == 0 and "unknown:" in out and "1 of them unknown" in out and "nan" not in out.lower()


def test_a_broken_limit_is_no_not_unknown():
    frame = build_profiles([valid_record()])
    frame["cpu_device_percent"] = math.nan  # the budgets' CPU figure: the share of the device
    verdict = check_compat(frame, Budgets({"t": Target(max_memory_mb=1, max_cpu_percent=90)}))
    (row,) = verdict.to_dict(orient="records")
    assert row["unknown"] == ["cpu_percent"] and any(r.startswith("peak memory 8 MB > limit 1") for r in row["reasons"])


def test_profiles_show_prints_a_dash_for_nan_cells(tmp_path, cli):
    profiles = _profiles(tmp_path, per_example_s_mean=math.nan, per_example_s_p50=math.inf, peak_memory_mb=math.nan)
    code, out, err = cli("profiles", "show", profiles)
    assert code == 0, err  # was a TypeError traceback (None * 1e3)
    assert "nan" not in out.lower() and "inf" not in out.lower()
    code, out, _ = cli("profiles", "show", profiles, "--format", "json")
    assert code == 0 and _strict(out)[0]["per_example_s_mean"] is None


@pytest.mark.parametrize("value", [math.nan, math.inf, -0.5])
def test_records_with_non_finite_timing_are_refused_by_the_profile_builder(value):
    record = valid_record()
    record["timing"]["step_seconds"][1][2] = value
    with pytest.raises(RecordError, match="not a finite, non-negative number"):
        build_profiles([record])


@pytest.mark.parametrize("field", [("model", "storage_bytes"), ("network", "total_bytes"), ("device", "cores")])
def test_integers_beyond_64_bits_are_refused_by_the_profile_builder(field):
    record = valid_record()
    record[field[0]][field[1]] = 2**64
    with pytest.raises(RecordError, match=f"{field[0]}.{field[1]} is out of range"):
        build_profiles([record])
