"""The DP sweep: the run without DP first, utility costs per row, the ε–metric–time table on disk and
in the report's simulation section."""

from __future__ import annotations

import pytest

from flint_bench.core.fileio import read_json
from flint_bench.report.sections import simulation_section
from flint_bench.simulator.privacy.utility import target_figures, to_target, utility_cost
from flint_bench.simulator.sweep import run_sweep, without_dp
from tests.simulator.helpers import raw_config

pytest.importorskip("dp_accounting")


def _row(metric, tasks, hours, reached, trials=2):
    return {
        "final_metric": metric,
        "tasks_to_target": tasks,
        "virtual_hours_to_target": hours,
        "tasks_to_target_n": reached,
        "trials": trials,
    }


def test_utility_cost_hand_computed():
    base = _row(0.9, 100, 1.0, 2)
    assert utility_cost(_row(0.8, 150, 1.5, 2), base) == {
        "metric_drop": pytest.approx(0.1),
        "reached": 2,
        "trials": 2,
        "extra_tasks_to_target": 50.0,
        "extra_hours_to_target": 0.5,
    }
    # one trial short of the target: its median covers other trials, so no comparison
    partial = utility_cost(_row(0.8, 150, 1.5, 1), base)
    assert partial["extra_tasks_to_target"] is None and partial["reached"] == 1


def test_to_target_reads_the_first_evaluation_at_the_target():
    rows = [
        {"trial": 0, "virtual_time_s": 0.0, "aggregation": 0, "metric": 0.5, "tasks_started": 0},
        {"trial": 0, "virtual_time_s": 3600.0, "aggregation": 5, "metric": 0.81, "tasks_started": 60},
        {"trial": 0, "virtual_time_s": 7200.0, "aggregation": 10, "metric": 0.9, "tasks_started": 120},
        {"trial": 1, "virtual_time_s": 0.0, "aggregation": 0, "metric": 0.5, "tasks_started": 0},
        {"trial": 1, "virtual_time_s": 1800.0, "aggregation": 5, "metric": 0.7, "tasks_started": 55},
    ]
    assert to_target(rows, 0.8) == [
        {"virtual_hours_to_target": 1.0, "tasks_to_target": 60, "aggregations": 5},
        {"virtual_hours_to_target": None, "tasks_to_target": None, "aggregations": None},
    ]
    fig = target_figures(rows, 0.8, lambda steps: 0.1 * steps)
    assert (fig["tasks_to_target"], fig["tasks_to_target_n"], fig["epsilon_at_target"]) == (60.0, 1, 0.5)


def test_without_dp_keeps_secagg():
    raw = {"sim": {}, "privacy": {"dp": {"noise_multiplier": 1.0}, "secagg": {"protocol": "bell"}}}
    assert without_dp(raw) == {"sim": {}, "privacy": {"secagg": {"protocol": "bell"}}}
    assert without_dp({"sim": {}, "privacy": {"dp": {}}}) == {"sim": {}}


def test_dp_sweep_writes_the_table_and_the_report_shows_it(tmp_path):
    raw = raw_config(
        "fedavg",
        sim={"train": True, "max_aggregations": 6, "eval_every": 3, "executors": 1, "client_lr": 0.3, "target_metric": 0.0},
        privacy={"dp": {"clip_norm": 0.1}},
    )
    raw["sweep"] = {"privacy.dp.noise_multiplier": [0.5, 4.0]}
    result = run_sweep(raw, "test.toml", tmp_path)
    assert result.baseline is not None and result.privacy is not None
    no_dp, low, high = result.privacy
    assert no_dp["privacy.dp.noise_multiplier"] == "no DP" and no_dp["epsilon"] is None
    assert low["epsilon"] > high["epsilon"] > 0  # more noise, smaller ε
    # no run stopped at the target (0.0: met at the first evaluation, before any DP step)
    assert low["reached"] == 1 and low["extra_tasks_to_target"] == 0.0 and low["epsilon_at_target"] == 0.0
    assert result.rows[0]["aggregations"] == 6
    summary = read_json(tmp_path / "summary.json")
    assert summary["privacy_sweep"] == result.privacy and (tmp_path / "baseline" / "summary.json").is_file()
    section = simulation_section(summary, None)
    assert section is not None
    labels = [r["metric"] for r in section["stats"]]
    assert "privacy z=0.5: ε" in labels and "privacy no DP: final metric" in labels
    assert [c.title for c in section["charts"]] == [
        "final metric against ε (DP sweep)",
        "virtual hours to target against ε (DP sweep)",
    ]
    assert [line.label for line in section["charts"][0].lines] == ["DP runs (median over trials)", "no DP"]
