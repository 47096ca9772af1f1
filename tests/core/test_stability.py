"""The stability block: ExecuTorch's stability analysis figures and score, rescaled to 0-1."""

import math

import numpy as np
import pytest

from flint_bench.core.stability import record_stability, stability


def test_constant_times_score_one():
    s = stability([0.01] * 20)
    assert s == pytest.approx({"n": 20, "cv": 0.0, "iqr_over_median": 0.0, "p99_over_p50": 1.0, "score": 1.0}, abs=1e-12)


def test_figures_match_executorch_formulas():
    x = np.array([1.0, 1.1, 0.9, 1.05, 0.95, 1.3, 1.0, 0.98])
    s = stability(x)
    cv = x.std(ddof=1) / x.mean()
    p99_p50 = np.percentile(x, 99) / np.percentile(x, 50)
    max_min = x.max() / x.min()
    # analyze_benchmark_stability.py: 0.5 * cv score + 0.25 * max/min score + 0.25 * p99/p50 score, each 0-100
    expected = (
        0.5 * max(0, 100 - cv * 100 * 10) + 0.25 * max(0, 100 - (max_min - 1) * 50) + 0.25 * max(0, 100 - (p99_p50 - 1) * 100)
    ) / 100
    assert s["cv"] == pytest.approx(cv)
    assert s["p99_over_p50"] == pytest.approx(p99_p50)
    assert s["iqr_over_median"] == pytest.approx((np.percentile(x, 75) - np.percentile(x, 25)) / np.median(x))
    assert s["score"] == pytest.approx(expected)


def test_noisy_times_score_lower_and_the_score_stays_in_range():
    rng = np.random.default_rng(0)
    steady = stability(1 + 0.01 * rng.standard_normal(200))
    noisy = stability(np.abs(1 + 0.5 * rng.standard_normal(200)) + 0.01)
    assert steady["score"] > 0.8 > noisy["score"] >= 0.0
    assert stability([1.0] * 60 + [5.0] * 40)["score"] == 0.0  # every component at its floor


@pytest.mark.parametrize("samples", [[], [0.5], [0.0, 1.0], [1.0, math.nan]])
def test_too_little_or_unusable_data_says_nothing(samples):
    s = stability(samples)
    assert s["n"] == len(samples) and s["cv"] is None and s["score"] is None


def test_record_stability_uses_per_example_times(toy):
    record = toy.record()
    record["timing"]["step_seconds"] = [[0.2, 0.1], [0.2]]
    record["timing"]["step_examples"] = [[2, 1], [2]]  # all 0.1 s per example
    assert record_stability(record)["score"] == pytest.approx(1.0)
    record["timing"]["step_examples"] = [[2], [2]]  # lists disagree: no stability, no crash
    assert record_stability(record) is None
