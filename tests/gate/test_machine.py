"""The gate on a shared runner: busy or unlike machines make the timing comparison inconclusive,
and the bootstrap interval of the median ratio keeps bimodal samples from passing as a regression."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from records_synth import lognormal_samples, with_samples, write_folder, write_version_1
from scipy.stats import mannwhitneyu

from flint_bench.core.contract import validate
from flint_bench.core.results import load_records
from flint_bench.gate import GateSettings, SampleRegression, evaluate

QUIET = {"others": 0.02, "cpu": 190.0}  # both cores free: the worker's threads use both
BUSY = {"others": 0.48, "cpu": 100.0}  # another process holds one of the two cores


def _machine(others: float) -> dict:
    return {
        "load_1min_start": 0.3 + 2 * others,
        "load_1min_end": 0.3 + 2 * others,
        "others_cpu_share": others,
        "steal_share": 0.0,
        "cpus": 2,
        "cpu_freq_mhz": 2445.0,
        "method": "synthetic",
    }


def _side(record: dict, samples: list[list[float]], state: dict | None) -> dict:
    """`record` with these samples; `state` None: an older record without a machine section."""
    r = with_samples(record, samples)
    r["cpu"] = {**r["cpu"], "mean_percent": state["cpu"] if state else 150.0}
    r.pop("machine", None)
    if state:
        r["machine"] = _machine(state["others"])
    return r


def _bimodal(real_records, head_state, base_state, slow_mode: float = 4.47):
    """Base from the quiet mode; head the same code from the busy mode (x4.47 as measured)."""
    rec = next(r for r in real_records if r["model"]["name"] == "B")
    median = rec["timing"]["per_example_seconds"]["p50"]
    quiet = lognormal_samples(np.random.default_rng(1), median, 0.15)
    busy = lognormal_samples(np.random.default_rng(2), median * slow_mode, 0.15)
    return _side(rec, busy, head_state), _side(rec, quiet, base_state)


def _timing(result):
    return next(c for c in result.cases if c.metric == "train_time")


def test_busy_head_against_quiet_base_is_inconclusive_not_a_regression(real_records):
    head, base = _bimodal(real_records, BUSY, QUIET)
    result = evaluate([head], [base], {})
    case = _timing(result)
    assert case.status == "inconclusive" and result.passed
    (v,) = case.verdicts
    assert "busy machine" in v.message and "48%" in v.message
    assert v.ratio == pytest.approx(4.47, rel=0.2) and v.ci_low is not None  # the figures stay for the reader


def test_unlike_conditions_without_a_busy_side_are_inconclusive(real_records):
    """Neither side over the busy share, but the worker got half the CPU in the head."""
    head, base = _bimodal(real_records, {"others": 0.20, "cpu": 100.0}, {"others": 0.18, "cpu": 190.0})
    v = _timing(evaluate([head], [base], {})).verdicts[0]
    assert v.status == "inconclusive" and "100% CPU in the head, 190% in the base" in v.message
    head, base = _bimodal(real_records, {"others": 0.22, "cpu": 150.0}, {"others": 0.01, "cpu": 150.0})
    v = _timing(evaluate([head], [base], {})).verdicts[0]
    assert v.status == "inconclusive" and "22% of the machine during the head, 1%" in v.message


def test_real_slowdown_on_a_quiet_machine_is_still_a_regression(real_records):
    head, base = _bimodal(real_records, QUIET, QUIET, slow_mode=1.30)
    case = _timing(evaluate([head], [base], {}))
    (v,) = case.verdicts
    assert case.status == "fail" and v.ci_low > 1.0 and v.ci_low < v.ratio < v.ci_high
    assert f"95% CI x{v.ci_low:.2f}-x{v.ci_high:.2f}" in v.message


def test_records_without_a_machine_section_are_judged_as_before(real_records, tmp_path):
    """A version-1 record from before the machine section (or from a phone) reads from disk, and
    the same busy-vs-quiet samples are then a regression: nothing says the machine was busy."""
    head, base = _bimodal(real_records, None, None)
    head_dir, base_dir = write_version_1(tmp_path / "head", [head]), write_version_1(tmp_path / "base", [base])
    (h,), (b,) = load_records(head_dir), load_records(base_dir)
    assert h["schema_version"] == "1" and h["extra"]["upgraded_from"] == "1" and "machine" not in h
    assert _timing(evaluate([h], [b], {})).status == "fail"
    # a machine section on one side only: its busy flag still counts, no comparison of conditions
    head, base = _bimodal(real_records, BUSY, None)
    assert _timing(evaluate([head], [base], {})).status == "inconclusive"
    head, base = _bimodal(real_records, None, QUIET, slow_mode=1.30)
    assert _timing(evaluate([head], [base], {})).status == "fail"


def test_fail_on_inconclusive_exits_1_and_the_default_exits_0(real_records, tmp_path, cli):
    head, base = _bimodal(real_records, BUSY, QUIET)
    head_dir, base_dir = write_folder(tmp_path / "head", [head]), write_folder(tmp_path / "base", [base])
    code, out, err = cli("gate", "--head", head_dir, "--base", base_dir, "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    (case,) = [c for c in doc["cases"] if c["metric"] == "train_time"]
    assert case["status"] == "inconclusive" and case["verdicts"][0]["ci_low"] > 1
    xml = tmp_path / "junit.xml"
    code, _, err = cli("gate", "--head", head_dir, "--base", base_dir, "--fail-on-inconclusive", "--junit", xml)
    assert code == 1, err
    assert "<failure" in xml.read_text() and "inconclusive" in xml.read_text()
    assert cli("gate", "--head", head_dir, "--base", base_dir, "--busy-share", "nan")[0] == 2


def test_pooled_rounds_keep_the_busiest_machine(real_records):
    quiet_head, base = _bimodal(real_records, QUIET, QUIET, slow_mode=1.0)
    busy_head = copy.deepcopy(quiet_head)
    busy_head["machine"] = _machine(0.6)
    v = _timing(evaluate([quiet_head, busy_head], [base], {})).verdicts[0]
    assert v.status == "inconclusive" and "60%" in v.message


def test_a_median_on_the_edge_between_two_modes_is_not_a_regression():
    """Bimodal steps: quiet ~1.0, busy ~3.0 (another process took a core). The head's code is 2%
    faster, but 55% of its steps hit the busy mode, none of the base's. The median ratio is x2.9
    and the rank test is significant, yet the head's median flips between the modes: the bootstrap
    interval reaches below 1, so no slowdown is established."""

    def steps(busy_share: float, quiet: float, n: int = 100) -> list[float]:
        busy = round(busy_share * n)  # each mode spread evenly +-2% around its level
        return list(np.r_[np.linspace(2.94, 3.06, busy), np.linspace(0.98, 1.02, n - busy) * quiet])

    v = SampleRegression(GateSettings())(steps(0.55, quiet=0.98), steps(0.0, quiet=1.0))
    assert v.ratio > 1.1 and mannwhitneyu(steps(0.55, 0.98), steps(0.0, 1.0), alternative="greater").pvalue < 0.01
    assert v.ci_low < 1.0 and v.status == "pass" and "interval reaches no change" in v.message


def test_the_verdict_with_its_interval_is_valid_json(real_records):
    head, base = _bimodal(real_records, QUIET, QUIET, slow_mode=1.30)
    json.dumps(evaluate([head], [base], {}).to_dict(), allow_nan=False)
    validate("result", head)


def test_a_busy_side_whose_repeats_overlap_is_inconclusive_not_cannot_judge(real_records):
    """A hog during two of three head repeats: significant on the steps, the repeats overlap. The
    reason given is the busy machine (inconclusive, failing under --fail-on-inconclusive), not the
    drift; too few samples on a busy machine still cannot be judged."""
    rec = next(r for r in real_records if r["model"]["name"] == "B")
    rng = np.random.default_rng(4)
    base = [list(1e-3 * rng.lognormal(0, 0.02, 40)) for _ in range(3)]
    head = [list(0.95e-3 * rng.lognormal(0, 0.02, 40))] + [list(1.4e-3 * rng.lognormal(0, 0.05, 40)) for _ in range(2)]
    h, b = _side(rec, head, BUSY), _side(rec, base, QUIET)
    quiet = _timing(evaluate([_side(rec, head, QUIET)], [b], {})).verdicts[0]
    assert quiet.status == "cannot-judge" and "repeats overlap" in quiet.message
    case = _timing(evaluate([h], [b], {}))
    assert (
        case.status == "inconclusive"
        and "busy machine" in case.verdicts[0].message
        and "repeats overlap" in case.verdicts[0].message
    )
    assert _timing(evaluate([h], [b], {}, GateSettings(fail_on_inconclusive=True))).failed
    few = _timing(evaluate([_side(rec, [[1e-3] * 2], BUSY)], [_side(rec, [[1e-3] * 2], QUIET)], {}))
    assert few.status == "cannot-judge"
