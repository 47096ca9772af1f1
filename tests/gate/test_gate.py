"""The CI gate: budgets, significant regressions on raw per-step samples, outputs, exit codes."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from records_synth import lognormal_samples, with_samples, write_folder

from flint_bench.budgets import DEFAULT_TARGETS, Target
from flint_bench.core.records import cpu_device_percent, per_example_samples
from flint_bench.gate import GateSettings, SampleRegression, evaluate


def _real(real_records, name="B"):
    return next(r for r in real_records if r["model"]["name"] == name)


# Per-step noise of the synthetic samples: about what the local farm shows on a quiet machine
# (CV 0.15-0.3). Fixed rather than taken from the fixture's short run, so the seeds below give the
# same samples in every session; the real record supplies the level (median) and everything else.
NOISE_CV = 0.25


def _pair(real_records, seed: int, slowdown: float = 1.0, same_samples: bool = False):
    """Base and head records of every real model: same distribution, new seed (or the same samples) x slowdown."""
    base, head = [], []
    for i, rec in enumerate(real_records):
        median, cv = rec["timing"]["per_example_seconds"]["p50"], NOISE_CV
        b = lognormal_samples(np.random.default_rng([seed, i, 0]), median, cv)
        h = b if same_samples else lognormal_samples(np.random.default_rng([seed, i, 1]), median, cv)
        base.append(with_samples(rec, b))
        head.append(with_samples(rec, [[s * slowdown for s in rep] for rep in h]))
    return head, base


def test_samples_are_per_example_step_times(real_records):
    rec = _real(real_records)
    t = rec["timing"]
    samples = per_example_samples(rec)
    assert len(samples) == sum(len(r) for r in t["step_seconds"])
    assert samples[0] == pytest.approx(t["step_seconds"][0][0] / t["step_examples"][0][0])


def test_thirty_percent_slowdown_in_identical_results_is_flagged(real_records):
    head, base = _pair(real_records, seed=1, slowdown=1.30, same_samples=True)
    result = evaluate(head, base, {})
    failing = {(c.model, c.metric) for c in result.failures}
    assert failing == {(r["model"]["name"], "train_time") for r in real_records}
    verdict = next(v for v in result.failures[0].verdicts if v.check == "regression")
    assert verdict.ratio == pytest.approx(1.30) and verdict.p_value < 0.01


def test_thirty_percent_slowdown_with_fresh_noise_is_flagged(real_records):
    flagged = sum(not evaluate(*_pair(real_records, seed, slowdown=1.30), {}).passed for seed in range(20))
    assert flagged == 20


def test_noise_only_change_is_not_flagged_in_19_of_20_seeds(real_records):
    false_alarms = sum(not evaluate(*_pair(real_records, seed), {}).passed for seed in range(20))
    assert false_alarms <= 1


def test_large_but_insignificant_change_is_not_flagged():
    """A ratio above the threshold is not enough: the samples must also differ significantly."""
    rng = np.random.default_rng(0)
    base = list(rng.lognormal(0, 1.0, 8))
    head = list(np.array(base[::-1]) * 1.15)  # same values, reordered, 15% slower: overlapping, wide spread
    v = SampleRegression(GateSettings())(head, base)
    assert v.ratio > 1.1 and v.status == "pass" and v.p_value >= 0.01


def test_too_few_samples_cannot_be_judged(real_records):
    """The fixture's records have 2 steps x 2 repeats: no Mann-Whitney U test can reach p < 0.01."""
    rec = _real(real_records)
    slow = with_samples(
        rec,
        [
            [s * 3 for s in rep]
            for rep in [
                [a / b for a, b in zip(*pair, strict=True)]
                for pair in zip(rec["timing"]["step_seconds"], rec["timing"]["step_examples"], strict=True)
            ]
        ],
    )
    result = evaluate([slow], [rec], {})
    case = next(c for c in result.cases if c.metric == "train_time")
    assert case.status == "cannot-judge" and "cannot judge" in case.verdicts[0].message
    assert result.passed


def test_budget_breach_fails_even_without_a_base(real_records, tmp_path, cli):
    head = write_folder(
        tmp_path / "head", [with_samples(r, lognormal_samples(np.random.default_rng(0), 1e-4, 0.2)) for r in real_records]
    )
    budgets = tmp_path / "budgets.toml"
    budgets.write_text("[targets.tiny-app]\nmax_storage_mb = 0.1\n")
    code, out, err = cli("gate", "--head", head, "--budgets", budgets, "--format", "json")
    assert code == 1, err
    doc = json.loads(out)
    failing = {(c["model"], c["metric"]) for c in doc["cases"] if c["status"] == "fail"}
    big = {r["model"]["name"] for r in real_records if r["model"]["storage_bytes"] > 0.1e6}
    assert big and failing == {(m, "storage_mb") for m in big}
    # the same results pass a budget they fit
    budgets.write_text(
        '[targets.roomy]\nmax_storage_mb = 100\nmax_memory_mb = 10000\nmax_task_seconds = 100000\nmin_os_version = { Android = "10" }\n'
    )
    assert cli("gate", "--head", head, "--budgets", budgets)[0] == 0


def test_time_and_memory_budgets(real_records):
    rec = _real(real_records)
    target = Target(max_memory_mb=0.001, max_task_seconds=1e-9)
    result = evaluate([rec], None, {"strict": target})
    assert {c.metric for c in result.failures} == {"memory_mb", "train_time"}
    cpu = cpu_device_percent(rec)
    if rec["cpu"]["mean_percent"]:  # the CPU budget is a share of the device (all cores = 100), not % of one core
        assert cpu == pytest.approx(rec["cpu"]["mean_percent"] / rec["device"]["cores"])
        assert {c.metric for c in evaluate([rec], None, {"cpu": Target(max_cpu_percent=cpu / 2)}).failures} == {"cpu_percent"}
        assert not evaluate([rec], None, {"cpu": Target(max_cpu_percent=min(100.0, cpu * 1.5))}).failures


def test_min_os_version_skips_older_phones(real_records):
    old = json.loads(json.dumps(_real(real_records)))
    old["device"].update(os="Android", os_version="9", id="old-phone")
    target = Target(max_storage_mb=0.0001, min_os_version={"Android": "10"})
    result = evaluate([old], None, {"app": target})
    assert result.passed and {c.status for c in result.cases} == {"not-targeted"}
    old["device"]["os_version"] = "11"
    assert not evaluate([old], None, {"app": target}).passed


def test_failed_head_run_fails_the_gate(real_records):
    rec = json.loads(json.dumps(_real(real_records)))
    rec["status"], rec["error"] = "failed", {"kind": "timeout", "message": "no result after 900 s"}
    result = evaluate([rec], [_real(real_records)], dict(DEFAULT_TARGETS))
    assert [c.metric for c in result.failures] == ["runs"] and "timeout" in result.failures[0].verdicts[0].message


def test_cli_outputs_junit_markdown_and_benchmark_json(real_records, tmp_path, cli, monkeypatch):
    head, base = _pair(real_records, seed=3)
    slowed = [r["model"]["name"] for r in real_records][:1]
    head = [
        with_samples(r, [[s / 32 * 1.5 for s in rep] for rep in r["timing"]["step_seconds"]])
        if r["model"]["name"] in slowed
        else r
        for r in head
    ]
    head_dir, base_dir = write_folder(tmp_path / "head", head), write_folder(tmp_path / "base", base)
    summary = tmp_path / "step_summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    budgets = tmp_path / "b.toml"
    budgets.write_text("[targets.app]\nmax_storage_mb = 0.5\n")
    paths = {k: tmp_path / f"out.{k}" for k in ("xml", "md", "json")}
    code, out, err = cli(
        "gate",
        "--head",
        head_dir,
        "--base",
        base_dir,
        "--budgets",
        budgets,
        "--junit",
        paths["xml"],
        "--markdown",
        paths["md"],
        "--benchmark-json",
        paths["json"],
    )
    assert code == 1, out + err

    over_budget = {r["model"]["name"] for r in real_records if r["model"]["storage_bytes"] > 0.5e6}
    suite = ET.parse(paths["xml"]).getroot().find("testsuite")
    cases = suite.findall("testcase")
    failed = {(tc.get("classname"), tc.get("name")) for tc in cases if tc.find("failure") is not None}
    assert len(cases) == 3 * len(real_records)  # model x device x {train_time, memory_mb, storage_mb}
    assert failed == {(f"{m}.local-cpu", "train_time") for m in slowed} | {(f"{m}.local-cpu", "storage_mb") for m in over_budget}
    assert int(suite.get("failures")) == len(failed)

    md = paths["md"].read_text()
    assert md.startswith("## flint-bench gate: ❌ failed") and "| model | device | metric |" in md
    assert summary.read_text().strip() == md.strip()
    bench = json.loads(paths["json"].read_text())
    assert {"name", "unit", "value"} <= set(bench[0]) and all(isinstance(e["value"], float) for e in bench)
    assert any(e["unit"] == "s" and e["name"].startswith(f"{slowed[0]} on local-cpu") for e in bench)


def test_missing_base_results_are_reported_not_fatal(real_records, tmp_path, cli):
    head = write_folder(
        tmp_path / "head", [with_samples(r, lognormal_samples(np.random.default_rng(5), 1e-4, 0.2)) for r in real_records]
    )
    only_a = write_folder(
        tmp_path / "base", [with_samples(_real(real_records, "A"), lognormal_samples(np.random.default_rng(6), 1e-4, 0.2))]
    )
    md = tmp_path / "gate.md"
    code, out, err = cli("gate", "--head", head, "--base", only_a, "--markdown", md)
    assert code == 0, out + err
    assert "No base result for: B on local-cpu" in md.read_text()
    assert "no base result for B on local-cpu" in err


def test_bad_input_exits_2(real_records, tmp_path, cli):
    good = write_folder(tmp_path / "good", real_records[:1])
    code, _, err = cli("gate", "--head", tmp_path / "missing", "--base", good)
    assert code == 2 and "not found" in err
    code, out, _ = cli("gate", "--head", tmp_path / "missing", "--format", "json")
    assert code == 2 and "not found" in json.loads(out)["error"]["message"]
    other = json.loads(json.dumps(real_records[0]))
    other["schema_version"] = "999"
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x.json").write_text(json.dumps(other))
    code, _, err = cli("gate", "--head", good, "--base", tmp_path / "other")
    assert code == 2 and "schema version" in err
    assert cli("gate", "--head", good, "--threshold", "0.9")[0] == 2
    (tmp_path / "empty").mkdir()
    assert cli("gate", "--head", tmp_path / "empty")[0] == 2
    bad = tmp_path / "bad.toml"
    bad.write_text("[targets.app]\nmax_storage_mbb = 1\n")
    code, _, err = cli("gate", "--head", good, "--budgets", bad)
    assert code == 2 and "targets.app.max_storage_mbb" in err
    assert cli("gate", "--head", good, "--target", "no-such-app")[0] == 2


def test_rounds_are_pooled(real_records, tmp_path, cli):
    """Alternating base/head rounds in sub-folders: the gate pools each side's samples per model x device."""
    rng = np.random.default_rng(11)
    rec = _real(real_records)
    median = rec["timing"]["per_example_seconds"]["p50"]
    for side, factor in (("base", 1.0), ("head", 1.4)):
        for rnd in (1, 2):
            # each round alone has 2 x 2 steps: too few to judge; pooled, 8 per side are enough
            write_folder(
                tmp_path / side / f"round-{rnd}",
                [with_samples(rec, [[s * factor for s in rep] for rep in lognormal_samples(rng, median, 0.05, 2, 2)])],
            )
    code, out, err = cli("gate", "--head", tmp_path / "head", "--base", tmp_path / "base", "--format", "json")
    doc = json.loads(out)
    timing = next(c for c in doc["cases"] if c["metric"] == "train_time")
    assert code == 1 and timing["status"] == "fail", out + err
    assert len(doc["cases"]) == 3  # one model on one device, not one per round


def test_drift_between_repeats_is_not_a_regression():
    """Steps significantly slower only because one head repeat ran on a busy machine: the repeats
    overlap, so the gate says it cannot judge instead of failing (and fails with --no-repeat-check)."""
    rng = np.random.default_rng(3)
    base = [list(1e-3 * rng.lognormal(0, 0.05, 20)) for _ in range(3)]
    head = [list(1e-3 * rng.lognormal(0, 0.05, 20))] + [list(3e-3 * rng.lognormal(0, 0.05, 20)) for _ in range(2)]
    flat = lambda reps: [x for r in reps for x in r]  # noqa: E731
    v = SampleRegression(GateSettings())(flat(head), flat(base), head, base)
    assert v.status == "cannot-judge" and "repeats overlap" in v.message
    # a uniform 30% slowdown separates the repeats and fails
    slow = [[x * 1.3 for x in r] for r in base]
    assert SampleRegression(GateSettings())(flat(slow), flat(base), slow, base).status == "fail"
    assert SampleRegression(GateSettings(repeat_check=False))(flat(head), flat(base), head, base).status == "fail"
    # pooled CI rounds (8 repeats a side): one overlapping repeat is fine, the repeat-level test decides at p < 0.01
    base8 = [list(1e-3 * rng.lognormal(0, 0.05, 20)) for _ in range(8)]
    head8 = [list(1.4e-3 * rng.lognormal(0, 0.05, 20)) for _ in range(7)] + [list(0.9e-3 * rng.lognormal(0, 0.05, 20))]
    assert SampleRegression(GateSettings())(flat(head8), flat(base8), head8, base8).status == "fail"
    head8 = [list(1.4e-3 * rng.lognormal(0, 0.05, 20)) for _ in range(5)] + [
        list(0.9e-3 * rng.lognormal(0, 0.05, 20)) for _ in range(3)
    ]
    assert SampleRegression(GateSettings())(flat(head8), flat(base8), head8, base8).status == "cannot-judge"


def test_project_budgets_file_is_read(real_records, tmp_path, cli):
    """configs/budgets.toml (the eligibility rules' format) drives the gate: its targets, p99 task time, per-OS minimum."""
    from pathlib import Path

    budgets = Path(__file__).resolve().parents[2] / "configs" / "budgets.toml"
    head = write_folder(tmp_path / "head", real_records)
    code, out, err = cli("gate", "--head", head, "--budgets", budgets, "--format", "json")
    assert code in (0, 1), err
    doc = json.loads(out)
    assert set(doc["targets"]) >= {"third_party", "first_party"}
    checks = {v["check"] for c in doc["cases"] for v in c["verdicts"]}
    assert {"budget:third_party", "budget:first_party"} <= checks


def test_hundreds_of_steps_a_side_are_judged():
    """Three repeats of ~170 steps a side (gate-bench with ~1 s repeats): the exact test's smallest
    p-value, 1 / C(1038, 519), is beyond any float; it must not overflow, and +30% still fails."""
    rng = np.random.default_rng(5)
    base = [list(6e-3 * rng.lognormal(0, 0.1, 173)) for _ in range(3)]
    slow = [list(7.8e-3 * rng.lognormal(0, 0.1, 173)) for _ in range(3)]
    flat = lambda reps: [x for r in reps for x in r]  # noqa: E731
    assert SampleRegression(GateSettings())(flat(slow), flat(base), slow, base).status == "fail"
    assert SampleRegression(GateSettings())(flat(base), flat(base), base, base).status == "pass"
