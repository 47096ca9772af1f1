"""Issue 12 in the report: an unknown figure is "cannot judge" (never deployable), no NaN is
printed, blocking reasons are cut at a word boundary, and inconsistent records exit 2."""

from __future__ import annotations

import json
import math
import re

from properties.gen import valid_record

from flint_bench.budgets import Target
from flint_bench.report.build import build
from flint_bench.report.render import render_html, render_markdown

NON_FINITE_WORD = re.compile(r"\b(nan|inf|infinity)\b", re.IGNORECASE)


def _folder(tmp_path, records):
    folder = tmp_path / "results"
    folder.mkdir()
    for i, r in enumerate(records):
        (folder / f"r{i}.json").write_text(json.dumps(r))
    return folder


def test_a_missing_figure_is_unknown_in_the_matrix(tmp_path, write, cli):
    record = valid_record()
    record["memory"].update(peak_mb=None, peak_delta_mb=None)
    budgets = write("budgets.toml", "[targets.t]\nmax_memory_mb = 50\n")
    out = tmp_path / "report.md"
    code, _, err = cli("report", "--results", _folder(tmp_path, [record]), "--budgets", budgets, "--out", out)
    assert code == 0, err
    text = out.read_text()
    assert "? peak memory unknown (not measured, or not a finite number)" in text
    assert "0/1 (0%)" in text  # not deployable on a device it cannot judge


def test_nan_figures_never_reach_the_report():
    record = valid_record()
    record["memory"]["peak_delta_mb"] = math.nan
    record["cpu"]["mean_percent"] = math.inf
    record["timing"]["seconds_per_5000"]["values"] = [math.nan, 5.0]
    context = build([record], {"t": Target(max_memory_mb=50, max_cpu_percent=90)}, budgets_source="test")
    assert context["compat"]["rows"][0]["targets"][0]["ok"] == 0
    for text in (render_markdown(context), render_html(context)):
        assert not NON_FINITE_WORD.search(text), NON_FINITE_WORD.search(text)


def test_blocking_reasons_are_cut_at_a_word_boundary(tmp_path, cli):
    record = valid_record()
    message = "adb: the device stopped answering while the benchmark was running " * 6
    record["status"], record["error"] = "failed", {"kind": "timeout", "message": message}
    out = tmp_path / "report.md"
    code, _, err = cli("report", "--results", _folder(tmp_path, [record]), "--out", out)
    assert code == 0, err
    reason = re.search(r"training failed \(timeout\): ([^|;]*?)…", out.read_text())
    assert reason, out.read_text()
    words = reason.group(1).split()
    assert words and message.split()[: len(words)] == words  # every word whole, none cut


def test_inconsistent_timing_lists_exit_2_naming_the_record(tmp_path, cli):
    record = valid_record()
    record["timing"]["step_seconds"][0].pop()  # valid to the schema, inconsistent with step_examples
    folder = _folder(tmp_path, [record])
    code, _, err = cli("report", "--results", folder, "--out", tmp_path / "r.html")
    assert code == 2 and "r0.json" in err and "step times" in err and "Traceback" not in err
