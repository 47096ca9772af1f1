"""The gate's checks: budgets on the head results, and regressions of head against base.

One CaseResult per model x device x metric collects every verdict about it: the budgets of each
target (flint_bench.budgets) and the regression tests against the base (regression.py).
Pure logic: records in, verdicts out, no I/O.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..budgets import Metric, Target, check_record, device_supported, record_figures
from ..core.records import Record, per_example_samples, per_repeat_samples, storage_mb, training_memory_mb
from ..core.stats import finite, json_safe
from ..core.text import shorten
from .conditions import incomparable
from .regression import FAILING, GateSettings, SampleRegression, ScalarRegression, Status, Verdict

# gate metric -> (unit, the budget figure that limits it)
METRICS: dict[str, tuple[str, Metric]] = {
    "train_time": ("s/example", "task_seconds"),
    "memory_mb": ("MB", "memory_mb"),
    "storage_mb": ("MB", "storage_mb"),
    "cpu_percent": ("% of device", "cpu_percent"),
}
# the most telling verdict wins: a failure, then an unjudged change, then the rest
STATUS_ORDER: list[Status] = ["fail", "cannot-judge", "inconclusive", "improved", "pass", "not-targeted", "no-base"]


@dataclass
class CaseResult:
    """One JUnit test case: a model on a device, one metric, with every check that looked at it."""

    model: str
    device: str
    metric: str
    unit: str
    verdicts: list[Verdict] = field(default_factory=list)
    failing: tuple[str, ...] = FAILING  # the statuses that fail the gate (strict: inconclusive too)

    @property
    def status(self) -> Status:
        states = {v.status for v in self.verdicts}
        return next((s for s in STATUS_ORDER if s in states), "pass")

    @property
    def failed(self) -> bool:
        return self.status in self.failing

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "device": self.device,
            "metric": self.metric,
            "unit": self.unit,
            "status": self.status,
            "verdicts": [json_safe(asdict(v)) for v in self.verdicts],
        }


@dataclass
class GateResult:
    cases: list[CaseResult]
    missing_base: list[tuple[str, str]]  # (model, device) in head without an ok base result
    missing_head: list[tuple[str, str]]  # in base, absent from head
    settings: GateSettings
    targets: list[str]

    @property
    def failures(self) -> list[CaseResult]:
        return [c for c in self.cases if c.failed]

    @property
    def passed(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        """The JSON document; a non-finite number is null (NaN is not JSON)."""
        return {
            "passed": self.passed,
            "failures": len(self.failures),
            "threshold": self.settings.threshold,
            "alpha": self.settings.alpha,
            "ci_level": self.settings.ci_level,
            "busy_share": self.settings.busy_share,
            "fail_on_inconclusive": self.settings.fail_on_inconclusive,
            "targets": self.targets,
            "missing_base": [list(k) for k in self.missing_base],
            "missing_head": [list(k) for k in self.missing_head],
            "cases": [c.to_dict() for c in self.cases],
        }


def _key(record: Record) -> tuple[str, str]:
    return record["model"]["name"], record["device"]["id"]


def _worst(values: list[float | None]) -> float | None:
    """The largest value; NaN when one is not finite (an unknown round leaves the worst unknown)."""
    known = [v for v in values if v is not None]
    if any(finite(v) is None for v in known):
        return math.nan
    return max(known) if known else None


def pool_rounds(records: list[Record]) -> list[Record]:
    """Several records of one model on one device (rounds of alternating base/head runs, each in
    its own sub-folder) become one: their repeats are concatenated, memory and CPU take the worst
    round. Any failed round makes the pooled result failed: the model did not always train."""
    groups: dict[tuple[str, str], list[Record]] = {}
    for r in records:
        groups.setdefault(_key(r), []).append(r)
    out = []
    for rs in groups.values():
        failed = [r for r in rs if r["status"] != "ok"]
        if len(rs) == 1 or failed:
            out.append(failed[0] if failed else rs[0])
            continue
        merged = copy.deepcopy(rs[0])
        timing = merged["timing"]
        timing["step_seconds"] = [rep for r in rs for rep in r["timing"]["step_seconds"]]
        timing["step_examples"] = [rep for r in rs for rep in r["timing"]["step_examples"]]
        values = [v for r in rs for v in ((r["timing"]["seconds_per_5000"] or {"values": []})["values"])]
        if values:
            timing["seconds_per_5000"] = {
                "mean": float(np.mean(values)),
                "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
                "values": values,
            }
        merged["memory"]["peak_mb"] = _worst([r["memory"]["peak_mb"] for r in rs])
        merged["memory"]["peak_delta_mb"] = _worst([r["memory"]["peak_delta_mb"] for r in rs])
        merged["cpu"]["mean_percent"] = _worst([r["cpu"]["mean_percent"] for r in rs])
        merged["cpu"]["max_percent"] = _worst([r["cpu"]["max_percent"] for r in rs])
        machines = [r.get("machine") for r in rs]
        if all(isinstance(m, dict) for m in machines):  # the busiest round speaks for the pool
            merged["machine"] = max(machines, key=lambda m: finite(m.get("others_cpu_share")) or 0.0)  # type: ignore[union-attr]
        else:
            merged.pop("machine", None)  # a round that cannot say what its machine did
        merged.setdefault("extra", {})["pooled_rounds"] = len(rs)
        out.append(merged)
    return out


def _budget_verdicts(record: Record, targets: dict[str, Target], cases: dict[str, CaseResult]) -> bool:
    """Add each target's budget verdicts to the metric cases; whether any target ships to the device."""
    targeted = not targets
    for name, target in targets.items():
        unsupported = device_supported(target, record)
        targeted = targeted or unsupported is None
        if unsupported:
            for c in cases.values():
                c.verdicts.append(Verdict(f"budget:{name}", "not-targeted", f"not a {name} device: {unsupported}"))
            continue
        broken = {b.metric: b for b in check_record(name, target, record)}
        figures = record_figures(record, target)
        for metric, (unit, figure) in METRICS.items():
            limit = target.limit(figure)
            if limit is None:
                continue
            if figure in broken:
                breach = broken[figure]
                cases[metric].verdicts.append(Verdict(f"budget:{name}", "fail", breach.message, breach.value))
            elif record["status"] != "ok" and figure != "storage_mb":
                continue  # a failed run measured nothing but its storage; its failure is its own case
            elif figures[figure] is None:
                reason = f"{target.unknown_reason(figure)} ({name})"
                cases[metric].verdicts.append(Verdict(f"budget:{name}", "cannot-judge", reason))
            else:
                what = (
                    f"p{target.task_quantile:g} x {target.task_examples} examples within {limit:g} s"
                    if figure == "task_seconds"
                    else f"within {limit:g} {unit}"
                )
                cases[metric].verdicts.append(Verdict(f"budget:{name}", "pass", f"{what} ({name})", figures[figure]))
    return targeted


def _regression_verdicts(head: Record, base: Record, settings: GateSettings, cases: dict[str, CaseResult]) -> None:
    timing = SampleRegression(settings)(
        per_example_samples(head), per_example_samples(base), per_repeat_samples(head), per_repeat_samples(base)
    )
    why = incomparable(head, base, settings)
    # a verdict judged from the samples (p set: a change, none, or repeats that overlap) is withheld
    # on a busy or unlike machine, so the reason is the machine and --fail-on-inconclusive fails it;
    # too few or broken samples keep their cannot-judge: nothing was compared. The figures stay.
    if why and timing.p_value is not None:
        timing.status, timing.message = "inconclusive", f"inconclusive: {why}; measured {timing.message}"
    cases["train_time"].verdicts.append(timing)
    memory = ScalarRegression(settings, settings.min_memory_delta_mb)
    cases["memory_mb"].verdicts.append(memory(training_memory_mb(head), training_memory_mb(base)))
    cases["storage_mb"].verdicts.append(ScalarRegression(settings)(storage_mb(head), storage_mb(base)))


def evaluate(
    head: list[Record], base: list[Record] | None, targets: dict[str, Target], settings: GateSettings | None = None
) -> GateResult:
    """Check every head record against the budgets of `targets` and, where the base has an ok
    result for the same model and device, against the base. `base=None`: budgets only.
    A record whose timing lists disagree raises RecordError."""
    settings = settings or GateSettings()
    head = pool_rounds(head)
    base = pool_rounds(base) if base is not None else None
    base_by_key = {_key(r): r for r in (base or [])}
    failing = (*FAILING, "inconclusive") if settings.fail_on_inconclusive else FAILING
    cases: list[CaseResult] = []
    missing_base = []
    for rec in sorted(head, key=_key):
        model, device = _key(rec)
        by_metric = {m: CaseResult(model, device, m, unit, failing=failing) for m, (unit, _) in METRICS.items()}
        targeted = _budget_verdicts(rec, targets, by_metric)
        if rec["status"] != "ok" and targeted:
            error = rec["error"] or {"kind": "error", "message": ""}
            message = f"training failed ({error['kind']}): {shorten(error['message'] or 'no message')}"
            cases.append(CaseResult(model, device, "runs", "", [Verdict("run", "fail", message)], failing))
        b = base_by_key.get((model, device))
        if base is None:
            pass  # no base folder given: budgets only
        elif b is None or b["status"] != "ok":
            missing_base.append((model, device))
            why = "no base result" if b is None else "the base run failed"
            for m in ("train_time", "memory_mb", "storage_mb"):
                by_metric[m].verdicts.append(Verdict("regression", "no-base", f"{why}: nothing to compare with"))
        elif rec["status"] == "ok":
            _regression_verdicts(rec, b, settings, by_metric)
        cases.extend(c for c in by_metric.values() if c.verdicts)
    head_keys = {_key(r) for r in head}
    missing_head = sorted(k for k in base_by_key if k not in head_keys)
    return GateResult(cases, missing_base, missing_head, settings, list(targets))
