"""Issue 12: no NaN gets through the gate. An unknown figure (missing, NaN, infinity) is "cannot
judge", never "within budget"; every JSON output is strict JSON; bad numbers in budgets or options
exit 2 naming them."""

from __future__ import annotations

import json
import math
import re

import pytest
from properties.gen import valid_record

from flint_bench.budgets import Target
from flint_bench.core.text import shorten
from flint_bench.gate import GateSettings, SampleRegression, ScalarRegression, benchmark_json, evaluate, junit_xml, markdown

NON_FINITE_WORD = re.compile(r"\b(nan|inf|infinity)\b", re.IGNORECASE)
BUDGETS = "[targets.t]\nmax_memory_mb = 50\nmax_task_seconds = 100\nmax_cpu_percent = 90\n"


def _strict(text: str):
    """json.loads that refuses NaN and Infinity, as JSON.parse does."""

    def refuse(name):
        raise AssertionError(f"non-JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def _folder(tmp_path, record):
    folder = tmp_path / "head"
    folder.mkdir()
    (folder / "r.json").write_text(json.dumps(record))  # bare NaN, as a broken device result leaves it
    return folder


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_nan_figures_are_cannot_judge_and_every_output_is_strict_json(value):
    """In-process (the file reader already refuses NaN): the checks themselves never pass it."""
    record = valid_record()
    record["memory"]["peak_delta_mb"] = value
    record["timing"]["step_seconds"][0][0] = value
    result = evaluate([record], [valid_record()], {"t": Target(max_memory_mb=50, max_task_seconds=100)})
    status = {c.metric: c.status for c in result.cases}
    assert status["memory_mb"] == "cannot-judge" and status["train_time"] == "cannot-judge", status
    memory = next(c for c in result.cases if c.metric == "memory_mb")
    assert "peak memory unknown" in memory.verdicts[0].message
    assert all(v.status == "cannot-judge" for v in memory.verdicts)  # the regression check too
    document = json.dumps(result.to_dict(), allow_nan=False)
    entries = _strict(json.dumps(benchmark_json([record]), allow_nan=False))
    assert not any("peak memory" in e["name"] or "median ms" in e["name"] for e in entries)  # no made-up point
    for text in (markdown(result), junit_xml(result), document):
        assert not NON_FINITE_WORD.search(text), text


def test_missing_figures_are_cannot_judge_through_the_cli(tmp_path, write, cli):
    record = valid_record()
    record["memory"].update(peak_mb=None, peak_delta_mb=None)
    record["cpu"]["mean_percent"] = None
    head, budgets = _folder(tmp_path, record), write("budgets.toml", BUDGETS)
    bench, junit, md = tmp_path / "bench.json", tmp_path / "junit.xml", tmp_path / "gate.md"
    args = ["gate", "--head", head, "--budgets", budgets, "--benchmark-json", bench, "--junit", junit, "--markdown", md]
    code, out, err = cli(*args, "--format", "json")
    assert code == 0, err
    status = {c["metric"]: c["status"] for c in _strict(out)["cases"]}
    assert status["memory_mb"] == "cannot-judge" and status["cpu_percent"] == "cannot-judge", status
    _strict(bench.read_text())
    assert "<skipped" in junit.read_text() and "unknown" in md.read_text()
    code, out, _ = cli(*args)  # the table for people
    assert "cannot judge" in out and "within 50 MB" not in out and "2 cannot be judged" in out


def test_a_missing_figure_under_a_limit_is_never_a_pass():
    record = valid_record()
    record["cpu"]["mean_percent"] = None
    result = evaluate([record], None, {"t": Target(max_cpu_percent=90)})
    cpu = next(c for c in result.cases if c.metric == "cpu_percent")
    assert cpu.status == "cannot-judge" and "mean CPU unknown" in cpu.verdicts[0].message


@pytest.mark.parametrize("key", ["max_memory_mb", "max_task_seconds", "max_storage_mb", "task_quantile"])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_a_non_finite_budget_is_exit_2_naming_the_key(tmp_path, write, cli, key, value):
    head = _folder(tmp_path, valid_record())
    budgets = write("budgets.toml", f"[targets.t]\n{key} = {value}\n")
    code, _, err = cli("gate", "--head", head, "--budgets", budgets)
    assert code == 2 and f"targets.t.{key}" in err and "budgets.toml" in err and "finite" in err, err


@pytest.mark.parametrize("threshold", ["nan", "inf"])
def test_a_non_finite_threshold_is_exit_2(tmp_path, cli, threshold):
    code, _, err = cli("gate", "--head", _folder(tmp_path, valid_record()), "--threshold", threshold)
    assert code == 2 and "--threshold" in err


def test_regressions_on_non_finite_values_cannot_judge():
    s = GateSettings()
    good = [1e-3 * (1 + i / 100) for i in range(20)]
    verdict = SampleRegression(s)([*good[:-1], math.nan], good)
    assert verdict.status == "cannot-judge" and "not a finite" in verdict.message
    for head, base in [(math.nan, 8.0), (8.0, math.inf), (None, 8.0)]:
        verdict = ScalarRegression(s)(head, base)
        assert verdict.status == "cannot-judge" and not NON_FINITE_WORD.search(verdict.message)


def test_failure_messages_are_cut_at_a_word_boundary():
    message = "the device stopped answering " * 20
    cut = shorten(message, 60)
    assert len(cut) <= 60 and cut.endswith("…") and message.startswith(cut[:-1]) and cut[-2] != " "
    assert message.split()[len(cut[:-1].split()) - 1] == cut[:-1].split()[-1]  # the last word is whole
    assert shorten("short\nsecond line") == "short"
    record = valid_record()
    record["status"], record["error"] = "failed", {"kind": "timeout", "message": message}
    result = evaluate([record], None, {"t": Target()})
    run = next(c for c in result.cases if c.metric == "runs").verdicts[0].message
    assert run.endswith("…") and run[:-1].split()[-1] in ("the", "device", "stopped", "answering"), run
