"""The one budgets module: defaults by kind, one memory rule and one task-time rule for records and
profiles alike, typed errors for bad records, and no import cycle among the budget, profile and gate
modules."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from flint_bench.budgets import (
    DEFAULT_TARGETS,
    Budgets,
    Target,
    check_compat,
    check_record,
    load_budgets,
    profile_task_seconds,
    worst_task_seconds,
)
from flint_bench.core.errors import ConfigError, UserError
from flint_bench.core.records import RecordError, training_memory_mb
from flint_bench.gate import evaluate
from flint_bench.profiles import build_profiles, profiles_from_results

PACKAGE = Path(__file__).resolve().parents[2] / "flint_bench"


def test_storage_default_comes_from_the_kind_without_changing_the_target(write):
    third = Target(kind="third_party")
    assert third.max_storage_mb is None and third.storage_limit_mb == 1.0
    assert Target().storage_limit_mb == 10.0 and Target(max_storage_mb=3.0).storage_limit_mb == 3.0
    assert third.to_dict()["max_storage_mb"] == 1.0
    loaded = load_budgets(write("b.toml", '[targets.t]\nkind = "third_party"\n')).targets["t"]
    assert loaded == Target(kind="third_party")  # loading and validating filled nothing in
    assert DEFAULT_TARGETS["third_party"].storage_limit_mb == 1.0 and DEFAULT_TARGETS["first_party"].storage_limit_mb == 10.0


def test_defaults_without_a_file_and_unknown_targets_name_the_key(write):
    defaults = load_budgets(None)
    assert set(defaults.targets) == {"third_party", "first_party"} and "paper 4.1" in defaults.source
    budgets = load_budgets(write("b.toml", "[targets.app]\nmax_memory_mb = 8\n"))
    assert list(budgets.select(None)) == ["app"] and list(budgets.select(["app"])) == ["app"]
    with pytest.raises(ConfigError) as e:
        budgets.select(["watch"])
    assert e.value.key == "targets.watch" and e.value.file.endswith("b.toml")


@pytest.mark.parametrize(
    "text, key",
    [
        ("[targets.t]\ntask_examples = 0\n", "targets.t.task_examples"),
        ("[targets.t]\ntask_quantile = 101\n", "targets.t.task_quantile"),
        ("[targets.t]\nmax_task_seconds = nan\n", "targets.t.max_task_seconds"),
        ('[targets.t]\nmin_os_version = "beta"\n', "targets.t.min_os_version"),
        ("[targets]\n", "targets"),
    ],
)
def test_declared_constraints_name_the_key(write, text, key):
    with pytest.raises(ConfigError) as e:
        load_budgets(write("b.toml", text))
    assert e.value.key == key


def _without_baseline(record: dict) -> dict:
    r = copy.deepcopy(record)
    r["memory"].update(peak_mb=300.0, baseline_mb=None, peak_delta_mb=None)
    return r


def test_one_memory_rule_for_records_and_profiles(make_record):
    """A device without a baseline is judged on its whole-process peak by the gate, the report
    and compat alike: the profile carries that same figure."""
    with_base = make_record("M", "Pixel 7", "Android", "14", [0.01] * 8, peak_delta_mb=8.0)
    no_base = _without_baseline(make_record("M", "Galaxy A10", "Android", "14", [0.01] * 8))
    assert training_memory_mb(with_base) == 8.0 and training_memory_mb(no_base) == 300.0
    budgets = Budgets({"app": Target(max_memory_mb=16)})
    target = budgets.targets["app"]
    assert check_record("app", target, with_base) == []
    assert [b.metric for b in check_record("app", target, no_base)] == ["memory_mb"]
    profiles = build_profiles([with_base, no_base]).set_index("device_model")
    assert profiles.loc["Pixel 7", "peak_memory_mb"] == 8.0 and profiles.loc["Galaxy A10", "peak_memory_mb"] == 300.0
    verdict = check_compat(profiles.reset_index(), budgets).set_index("device_model")
    assert verdict.loc["Pixel 7", "compatible"] and not verdict.loc["Galaxy A10", "compatible"]
    assert verdict.loc["Galaxy A10", "reasons"] == ["peak memory 300 MB > limit 16 MB"]
    gate = evaluate([no_base], None, dict(budgets.targets))
    assert [(c.metric, c.status) for c in gate.failures] == [("memory_mb", "fail")]


@pytest.mark.parametrize("quantile", [50.0, 90.0, 99.0])
def test_record_and_profile_agree_on_the_worst_case_task(make_record, quantile):
    samples = list(np.random.default_rng(4).uniform(0.01, 0.05, 40))
    record = make_record("T", "Pixel 7", "Android", "14", samples)
    target = Target(task_examples=1000, task_quantile=quantile)
    profile = build_profiles([record]).iloc[0]
    assert profile_task_seconds(profile["per_example_s_quantiles"], target) == pytest.approx(worst_task_seconds(record, target))


def test_a_record_with_inconsistent_timing_is_a_user_error(make_record, real_records, tmp_path):
    from flint_bench.core.results import save_record
    from flint_bench.gate import GateSettings, run_gate

    record = make_record("R", "Pixel 7", "Android", "14", [0.01] * 8)
    record["timing"]["step_examples"][0] = record["timing"]["step_examples"][0][:-1]
    with pytest.raises(RecordError):
        build_profiles([record])
    broken = copy.deepcopy(real_records[0])
    broken.pop("extra", None)
    broken["timing"]["step_examples"][0] = broken["timing"]["step_examples"][0][:-1]
    save_record(tmp_path / "bad", broken)
    with pytest.raises(UserError, match="step example counts"):
        profiles_from_results(tmp_path / "bad")
    with pytest.raises(UserError, match="step example counts"):
        run_gate(tmp_path / "bad", None, None, None, GateSettings())
