"""Hostile result records: a valid record with numeric fields turned NaN, infinite, negative or
huge, and timing lists of different lengths, written as a device (or a hand edit) could leave them.

Reading the folder, building profiles, `compat`, `gate` and the report either work or raise
UserError (never another exception), and no output (JSON, Markdown, JUnit, benchmark JSON,
report) carries NaN or Infinity.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from properties.gen import EXAMPLES, valid_record

from flint_bench.budgets import Budgets, Target, check_compat, compat_summary, load_budgets
from flint_bench.core.errors import UserError
from flint_bench.core.records import RecordError
from flint_bench.core.stats import json_safe
from flint_bench.gate import GateSettings, benchmark_json, evaluate, junit_xml, markdown, run_gate
from flint_bench.profiles import build_profiles, profiles_from_results, read_profiles, write_profiles
from flint_bench.report.build import build
from flint_bench.report.inputs import make_context
from flint_bench.report.render import render_html, render_markdown

WORK = Path(tempfile.mkdtemp(prefix="flint-records-"))
BUDGETS = WORK / "budgets.toml"
BUDGETS.write_text("[targets.t]\nmax_memory_mb = 50\nmax_task_seconds = 100\nmax_cpu_percent = 90\nmax_storage_mb = 5\n")
# Words no output may carry: non-finite numbers as Python, JSON or JavaScript spell them.
NON_FINITE_WORD = re.compile(r"\b(nan|inf|infinity)\b", re.IGNORECASE)

FLOAT_FIELDS = [
    ("memory", "peak_mb"),
    ("memory", "baseline_mb"),
    ("memory", "peak_delta_mb"),
    ("cpu", "mean_percent"),
    ("cpu", "max_percent"),
    ("timing", "load_seconds"),
    ("conditions", "battery_percent"),
]
INT_FIELDS = [("model", "storage_bytes"), ("model", "update_bytes"), ("network", "total_bytes"), ("device", "cores")]
HOSTILE = [math.nan, math.inf, -math.inf, -1.0, 0.0, 1e308, -1e-300]
HUGE = [-1, 0, 2**63 - 1, 2**64, 10**30, 10**400]


@st.composite
def mutation(draw: st.DrawFn) -> tuple[str, Any]:
    """One hostile change to a record: (what, how), applied by `mutate`."""
    kind = draw(st.sampled_from(["float", "int", "step", "per5000", "summary", "lengths"]))
    if kind == "float":
        return kind, (draw(st.sampled_from(FLOAT_FIELDS)), draw(st.sampled_from(HOSTILE)))
    if kind == "int":
        return kind, (draw(st.sampled_from(INT_FIELDS)), draw(st.sampled_from(HUGE)))
    if kind == "step":
        return kind, (draw(st.integers(0, 1)), draw(st.integers(0, 3)), draw(st.sampled_from(HOSTILE)))
    if kind == "per5000":
        return kind, (draw(st.sampled_from(["mean", "std", "values"])), draw(st.sampled_from(HOSTILE)))
    if kind == "summary":
        return kind, (draw(st.sampled_from(["mean", "p50", "p99", "max", "cv"])), draw(st.sampled_from(HOSTILE)))
    return kind, draw(st.sampled_from(["drop-step", "drop-repeat", "extra-repeat", "empty"]))


def mutate(record: dict[str, Any], change: tuple[str, Any]) -> None:
    kind, how = change
    t = record["timing"]
    if kind in ("float", "int"):
        (section, key), value = how
        record[section][key] = value
    elif kind == "step":
        rep, i, value = how
        if rep < len(t["step_seconds"]) and i < len(t["step_seconds"][rep]):  # an earlier change may have shortened it
            t["step_seconds"][rep][i] = value
    elif kind == "per5000":
        key, value = how
        t["seconds_per_5000"][key] = [value, value] if key == "values" else value
    elif kind == "summary":
        key, value = how
        t["per_example_seconds"][key] = value
    elif how == "drop-step" and t["step_seconds"] and t["step_seconds"][0]:
        t["step_seconds"][0].pop()
    elif how == "drop-repeat" and t["step_examples"]:
        t["step_examples"].pop()
    elif how == "extra-repeat":
        t["step_seconds"].append([0.016])
    elif how == "empty":
        t["step_seconds"], t["step_examples"] = [], []


def _write(folder: Path, records: list[dict[str, Any]]) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for i, r in enumerate(records):
        # json.dumps writes NaN and Infinity bare, as a broken device result would
        (folder / f"r{i}.json").write_text(json.dumps(r))


def _no_non_finite(text: str, what: str) -> None:
    assert not NON_FINITE_WORD.search(text), f"{what}: {NON_FINITE_WORD.search(text)!r} in {text[:3000]}"


def _strict_json(document: Any, what: str) -> None:
    json.dumps(document, allow_nan=False)  # raises ValueError on NaN or infinity
    _no_non_finite(json.dumps(document), what)


def _check_profiles(frame: Any) -> None:
    """compat on a profile table: strict JSON, and no unknown figure ever compatible."""
    budgets = Budgets({"t": Target(max_memory_mb=50, max_task_seconds=100, max_cpu_percent=90)})
    verdict = check_compat(frame, budgets)
    rows = json.loads(verdict.to_json(orient="records"))
    _strict_json(json_safe({"summary": compat_summary(verdict), "checks": rows}), "compat JSON")
    for r in verdict.to_dict(orient="records"):
        assert not (r["compatible"] and r["unknown"]), r  # an unknown figure never passes
        _no_non_finite("; ".join(r["reasons"]), "compat reasons")


def _check_gate(result: Any, head: list[Any], markdown: str) -> None:
    _strict_json(result.to_dict(), "gate --format json")
    _strict_json(benchmark_json(head), "--benchmark-json")
    _no_non_finite(markdown, "gate Markdown")
    _no_non_finite(junit_xml(result), "gate JUnit")
    for case in result.cases:  # an unknown figure is never within budget
        for v in case.verdicts:
            assert not (v.status == "pass" and v.check.startswith("budget:") and v.head is None), v


@given(changes=st.lists(mutation(), min_size=1, max_size=3), failed=st.booleans(), with_base=st.booleans())
def test_hostile_records_work_or_are_a_user_error_and_never_output_nan(changes, failed, with_base):
    """Through the files, as the commands read them: the reader refuses NaN and infinity (exit 2),
    whatever passes it must be judged without a traceback."""
    EXAMPLES["records"] += 1
    head = [valid_record("A", "d1"), valid_record("A", "d2", per_example_s=2e-3)]
    for change in changes:
        mutate(head[0], change)
    if failed:
        head[1]["status"], head[1]["error"] = "failed", {"kind": "timeout", "message": "no result " * 50}
    folder, base = WORK / "head", WORK / "base"
    _write(folder, head)
    _write(base, [valid_record("A", "d1"), valid_record("A", "d2")])

    try:
        frame, _ = profiles_from_results(folder)
        write_profiles(frame, WORK / "profiles.parquet")  # what `profiles build` writes must be writable
        _check_profiles(frame)
    except UserError:
        pass
    try:
        run = run_gate(folder, base if with_base else None, BUDGETS, None, GateSettings())
        _check_gate(run.result, run.head, run.markdown)
    except UserError:
        pass
    try:
        context = make_context(folder, budgets=BUDGETS)
    except UserError:
        return
    _no_non_finite(render_markdown(context), "report Markdown")


@given(changes=st.lists(mutation(), min_size=1, max_size=3), failed=st.booleans(), with_base=st.booleans())
def test_hostile_records_in_process_are_judged_without_nan(changes, failed, with_base):
    """The same records handed to the library directly (no reader in between): the checks
    themselves never pass an unknown figure nor print NaN; inconsistent timing is a RecordError."""
    EXAMPLES["records-in-process"] += 1
    head = [valid_record("A", "d1"), valid_record("A", "d2", per_example_s=2e-3)]
    for change in changes:
        mutate(head[0], change)
    if failed:
        head[1]["status"], head[1]["error"] = "failed", {"kind": "timeout", "message": "no result " * 50}
    base = [valid_record("A", "d1"), valid_record("A", "d2")] if with_base else None
    budgets = load_budgets(BUDGETS)
    try:
        result = evaluate(head, base, budgets.targets)
    except RecordError:
        return  # the commands turn it into exit 2 naming the file (tests/gate)
    _check_gate(result, head, markdown(result))
    with contextlib.suppress(RecordError):
        _check_profiles(build_profiles(head))
    context = build(head, budgets.targets, budgets_source=str(BUDGETS))
    _no_non_finite(render_markdown(context), "report Markdown")
    _no_non_finite(render_html(context), "report HTML")


PROFILE_CELLS = ["peak_memory_mb", "cpu_mean_percent", "storage_bytes", "per_example_s_quantiles"]


@given(
    cell=st.sampled_from(PROFILE_CELLS),
    value=st.sampled_from([math.nan, math.inf, -math.inf, None, -1.0, 1e308]),
)
def test_hostile_profile_cells_are_never_compatible_silently(cell, value):
    """A profiles Parquet is not JSON: NaN and infinity reach compat through it."""
    EXAMPLES["profiles"] += 1
    frame = build_profiles([valid_record("A", "d1")])
    frame[cell] = frame[cell].astype(object)
    frame.at[0, cell] = [0.001, value] if cell == "per_example_s_quantiles" else value
    path = WORK / "hostile.parquet"
    write_profiles(frame, path)
    _check_profiles(read_profiles(path))


def test_storage_bytes_beyond_float_range_is_a_user_error():
    """Found by the property above (OverflowError in core.records.storage_mb); the reader now
    refuses integers beyond 64 bits."""
    record = valid_record()
    record["model"]["storage_bytes"] = 10**400
    folder = WORK / "huge-storage"
    _write(folder, [record])
    with pytest.raises(UserError, match="huge-storage"):
        run_gate(folder, None, BUDGETS, None, GateSettings())
