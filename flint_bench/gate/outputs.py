"""What the gate writes: a GitHub-flavoured Markdown table, JUnit XML (one test case per model x
device x metric) and github-action-benchmark "customSmallerIsBetter" JSON. Pure: strings out."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import numpy as np

from ..core.records import Record, per_example_samples, seconds_per_5000, storage_mb, training_memory_mb
from ..core.stats import finite
from .checks import CaseResult, GateResult
from .regression import Verdict

ICONS = {
    "fail": "❌",
    "pass": "✅",
    "improved": "🚀",
    "cannot-judge": "❔",
    "inconclusive": "🌫️",
    "no-base": "➖",
    "not-targeted": "⏭️",
}

UNJUDGED = ("cannot-judge", "inconclusive", "no-base", "not-targeted")  # JUnit <skipped> unless failing


def md_cell(text: object) -> str:
    """Table-safe Markdown: pipes and angle brackets of user-chosen names must not become markup."""
    s = "" if text is None else str(text)
    return s.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")


def _num(v: float | None, scale: float = 1.0) -> str:
    v = finite(v)
    return "-" if v is None else f"{v * scale:.4g}"


def _ratio(reg: Verdict | None) -> str:
    if reg is None or finite(reg.ratio) is None:
        return "-"
    low, high = finite(reg.ci_low), finite(reg.ci_high)
    return f"x{reg.ratio:.2f}" + (f" [{low:.2f}, {high:.2f}]" if low is not None and high is not None else "")


def _summary_verdict(case: CaseResult) -> Verdict:
    """The verdict that explains the case's status best."""
    for v in case.verdicts:
        if v.status == case.status:
            return v
    return case.verdicts[0]


def _regression(case: CaseResult) -> Verdict | None:
    return next((v for v in case.verdicts if v.check == "regression"), None)


def markdown(result: GateResult, title: str = "flint-bench gate") -> str:
    s = result.settings
    lines = [f"## {md_cell(title)}: {'❌ failed' if not result.passed else '✅ passed'}", ""]
    lines.append(
        f"{len(result.failures)} failing of {len(result.cases)} checks · threshold x{s.threshold:g}, Mann-Whitney U p < {s.alpha:g} "
        f"and a {s.ci_level:.0%} bootstrap interval of the median ratio that excludes 1, on the raw per-step samples · budgets: {md_cell(', '.join(result.targets) or 'none')}"
    )
    lines.append("")
    if result.missing_base:
        lines.append(
            f"No base result for: {md_cell(', '.join(f'{m} on {d}' for m, d in result.missing_base))} (reported, not fatal)."
        )
    if result.missing_head:
        lines.append(f"In the base but not the head: {md_cell(', '.join(f'{m} on {d}' for m, d in result.missing_head))}.")
    if result.missing_base or result.missing_head:
        lines.append("")
    lines += ["| | model | device | metric | base | head | ratio | p | verdict |", "|---|---|---|---|---|---|---|---|---|"]
    # failures first, so a long table still shows what broke
    for case in sorted(result.cases, key=lambda c: (not c.failed, c.model, c.device, c.metric)):
        reg = _regression(case)
        # per-example seconds read better as milliseconds; the JSON output keeps seconds
        scale, unit = (1000.0, "ms/example") if case.metric == "train_time" else (1.0, case.unit)
        messages = "; ".join(
            f"{v.check}: {v.message}" for v in case.verdicts if v.status != "pass" or len(case.verdicts) == 1
        ) or "; ".join(f"{v.check}: {v.message}" for v in case.verdicts)
        lines.append(
            "| "
            + " | ".join(
                [
                    ICONS.get(case.status, ""),
                    md_cell(case.model),
                    md_cell(case.device),
                    f"{case.metric} ({unit})" if unit else case.metric,
                    _num(reg.base if reg else None, scale),
                    _num(reg.head if reg else None, scale),
                    _ratio(reg),
                    f"{reg.p_value:.2g}" if reg and finite(reg.p_value) is not None else "-",
                    md_cell(messages),
                ]
            )
            + " |"
        )
    return "\n".join(lines) + "\n"


def junit_xml(result: GateResult) -> str:
    """One <testcase> per model x device x metric; fail -> <failure>, no verdict possible -> <skipped>."""
    suite = ET.Element(
        "testsuite",
        name="flint-bench-gate",
        tests=str(len(result.cases)),
        failures=str(len(result.failures)),
        errors="0",
        skipped=str(sum(c.status in UNJUDGED and not c.failed for c in result.cases)),
    )
    for case in result.cases:
        tc = ET.SubElement(suite, "testcase", classname=f"{case.model}.{case.device}", name=case.metric)
        detail = "\n".join(f"[{v.status}] {v.check}: {v.message}" for v in case.verdicts)
        if case.failed:
            failing = [v for v in case.verdicts if v.status in case.failing]
            f = ET.SubElement(
                tc, "failure", message="; ".join(v.message for v in failing), type="; ".join(v.check for v in failing)
            )
            f.text = detail
        elif case.status in UNJUDGED:
            ET.SubElement(tc, "skipped", message=_summary_verdict(case).message)
        ET.SubElement(tc, "system-out").text = detail
    root = ET.Element("testsuites", tests=str(len(result.cases)), failures=str(len(result.failures)))
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def benchmark_json(head: list[Record]) -> list[dict[str, Any]]:
    """github-action-benchmark customSmallerIsBetter entries for the head results (ok runs only).
    A figure that is not a finite number gets no entry: the action needs a number (and `JSON.parse`
    rejects NaN), and a missing point reads better on its chart than a made-up one."""
    out: list[dict[str, Any]] = []
    for r in sorted(head, key=lambda r: (r["model"]["name"], r["device"]["id"])):
        if r["status"] != "ok":
            continue
        label = f"{r['model']['name']} on {r['device']['id']}"
        samples = per_example_samples(r)
        extra = f"{len(samples)} steps; runtime {r['runtime']['name']} {r['runtime']['version']}; commit {r['host']['commit']}"
        per_5000, memory, storage = finite(seconds_per_5000(r)), finite(training_memory_mb(r)), finite(storage_mb(r))
        if per_5000 is not None:
            s5 = r["timing"]["seconds_per_5000"]
            out.append(
                {
                    "name": f"{label}: training seconds per 5000 examples",
                    "unit": "s",
                    "value": round(per_5000, 6),
                    "range": f"± {finite(s5 and s5['std']) or 0:.4g}",
                    "extra": extra,
                }
            )
        p = np.percentile(samples, [10, 90]) * 1000 if samples else np.array([np.nan])
        median = finite(float(np.median(samples)) * 1000) if samples else None
        if median is not None and np.all(np.isfinite(p)):
            out.append(
                {
                    "name": f"{label}: median ms per example",
                    "unit": "ms",
                    "value": round(median, 6),
                    "range": f"p10 {p[0]:.4g} to p90 {p[1]:.4g}",
                    "extra": extra,
                }
            )
        if memory is not None:
            out.append(
                {"name": f"{label}: peak memory", "unit": "MB", "value": round(memory, 3), "extra": r["memory"]["method"] or ""}
            )
        if storage is not None:
            out.append({"name": f"{label}: storage", "unit": "MB", "value": round(storage, 4)})
    return out
