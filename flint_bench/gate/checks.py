"""The gate's checks: budgets on the head results, and regressions of head against base.

Each check is a tiny class whose `__call__` returns a Verdict (pytest-benchmark style). A slowdown
counts only when it is larger than the threshold AND significant on the raw per-step samples
(one-sided Mann-Whitney U, as asv does) AND shows between the repeats (drift between runs is
invisible to the steps of one run); with too few samples the check says it cannot judge.
Pure logic: records in, verdicts out, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np

from .budgets import Target, check_record, device_supported, memory_mb, storage_mb, worst_task_seconds

Status = Literal["pass", "fail", "improved", "cannot-judge", "no-base", "not-targeted"]
FAILING: tuple[str, ...] = ("fail",)


@dataclass
class Verdict:
    check: str  # budget:<target> | regression | run
    status: Status
    message: str
    head: float | None = None
    base: float | None = None
    ratio: float | None = None
    p_value: float | None = None


@dataclass
class CaseResult:
    """One JUnit test case: a model on a device, one metric, with every check that looked at it."""

    model: str
    device: str
    metric: str
    unit: str
    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def status(self) -> Status:
        # the most telling verdict wins: a failure, then an unjudged change, then the rest
        order = ["fail", "cannot-judge", "improved", "pass", "not-targeted", "no-base"]
        states = [v.status for v in self.verdicts]
        for s in order:
            if s in states:
                return s  # type: ignore[return-value]
        return "pass"

    @property
    def failed(self) -> bool:
        return self.status in FAILING

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "device": self.device,
            "metric": self.metric,
            "unit": self.unit,
            "status": self.status,
            "verdicts": [asdict(v) for v in self.verdicts],
        }


@dataclass
class GateSettings:
    threshold: float = 1.10  # head/base ratio beyond which a change can count (asv's default factor)
    alpha: float = 0.01  # Mann-Whitney U significance level
    min_samples: int = 6  # per side; below it the test cannot reach significance anyway
    min_memory_delta_mb: float = 1.0  # memory changes smaller than this are allocator noise
    # Per-step samples of one run miss the drift between runs (other load, clock scaling): a
    # slowdown must also show between the repeats' medians (see repeats_separate).
    repeat_check: bool = True


def per_repeat_samples(record: dict) -> list[list[float]]:
    """The raw per-example training times per repeat: step_seconds[i] / step_examples[i]."""
    t = record.get("timing") or {}
    return [
        [s / e for s, e in zip(secs, exs) if e] for secs, exs in zip(t.get("step_seconds") or [], t.get("step_examples") or [])
    ]


def per_example_samples(record: dict) -> list[float]:
    """Every repeat's per-example training times in one list."""
    return [x for rep in per_repeat_samples(record) for x in rep]


def repeats_separate(
    head_repeats: Sequence[Sequence[float]], base_repeats: Sequence[Sequence[float]], slower: bool, alpha: float
) -> tuple[bool, str]:
    """Whether the repeats themselves differ: a one-sided exact Mann-Whitney U test on the repeat
    medians at p <= max(alpha, the smallest p these counts allow). With few repeats (3 vs 3) that
    means complete separation, every head repeat beyond every base one; with many (pooled CI
    rounds) the test at alpha."""
    from scipy.stats import mannwhitneyu

    hm = [float(np.median(r)) for r in head_repeats if len(r)]
    bm = [float(np.median(r)) for r in base_repeats if len(r)]
    p = float(mannwhitneyu(hm, bm, alternative="greater" if slower else "less", method="exact").pvalue)
    need = max(alpha, min_p_value(len(hm), len(bm)))
    span = (
        f"{len(hm)} head repeat medians {min(hm):.3g}-{max(hm):.3g}, {len(bm)} base {min(bm):.3g}-{max(bm):.3g}, "
        f"repeat-level p = {p:.2g}"
    )
    return p <= need * (1 + 1e-9), span


def min_p_value(n1: int, n2: int) -> float:
    """The smallest one-sided p-value the exact Mann-Whitney U test can give for these sample sizes."""
    return 1.0 / math.comb(n1 + n2, n1)


@dataclass
class SampleRegression:
    """Slowdown on raw samples: median ratio > threshold and one-sided Mann-Whitney U p < alpha."""

    settings: GateSettings
    name: str = "regression"

    def __call__(
        self,
        head: Sequence[float],
        base: Sequence[float],
        head_repeats: Sequence[Sequence[float]] | None = None,
        base_repeats: Sequence[Sequence[float]] | None = None,
    ) -> Verdict:
        """`head`/`base`: every sample; with `*_repeats` (the same samples per repeat) the
        repeat check applies when both sides have at least two repeats."""
        from scipy.stats import mannwhitneyu

        s = self.settings
        h, b = np.asarray(head, float), np.asarray(base, float)
        hm = float(np.median(h)) if h.size else None
        bm = float(np.median(b)) if b.size else None
        if h.size < s.min_samples or b.size < s.min_samples or min_p_value(h.size, b.size) >= s.alpha:
            return Verdict(
                self.name,
                "cannot-judge",
                f"cannot judge: {h.size} head and {b.size} base samples; "
                f"need at least {s.min_samples} each for a Mann-Whitney U test at p < {s.alpha:g} (run more examples or repeats)",
                hm,
                bm,
                hm / bm if hm and bm else None,
            )
        ratio = hm / bm if bm else math.inf
        slower = mannwhitneyu(h, b, alternative="greater").pvalue
        faster = mannwhitneyu(h, b, alternative="less").pvalue
        check_repeats = (
            s.repeat_check
            and head_repeats is not None
            and base_repeats is not None
            and sum(1 for r in head_repeats if len(r)) >= 2
            and sum(1 for r in base_repeats if len(r)) >= 2
        )
        if check_repeats and ((ratio > s.threshold and slower < s.alpha) or (ratio < 1 / s.threshold and faster < s.alpha)):
            separate, span = repeats_separate(head_repeats, base_repeats, slower=ratio > 1, alpha=s.alpha)
            if not separate:
                return Verdict(
                    self.name,
                    "cannot-judge",
                    f"cannot judge: x{ratio:.2f} with p = {min(slower, faster):.2g} on the steps, "
                    f"but the repeats overlap ({span}): the machine drifted between repeats; measure base and head "
                    "in alternating rounds",
                    hm,
                    bm,
                    ratio,
                    float(min(slower, faster)),
                )
        if ratio > s.threshold and slower < s.alpha:
            return Verdict(
                self.name,
                "fail",
                f"slower: median x{ratio:.2f} > x{s.threshold:g}, Mann-Whitney U p = {slower:.2g} < {s.alpha:g}",
                hm,
                bm,
                ratio,
                float(slower),
            )
        if ratio < 1 / s.threshold and faster < s.alpha:
            return Verdict(self.name, "improved", f"faster: median x{ratio:.2f}, p = {faster:.2g}", hm, bm, ratio, float(faster))
        p = float(min(slower, faster))
        why = "within the threshold" if 1 / s.threshold <= ratio <= s.threshold else "not significant"
        return Verdict(self.name, "pass", f"no significant change: x{ratio:.2f} ({why}, p = {p:.2g})", hm, bm, ratio, p)


@dataclass
class ScalarRegression:
    """A single measured value (storage, memory): head/base beyond the threshold and, for noisy
    values, beyond a minimum absolute change. No samples, so no significance test: deterministic
    values (storage) need none, and memory gets the absolute floor instead."""

    settings: GateSettings
    min_abs_delta: float = 0.0
    name: str = "regression"

    def __call__(self, head: float | None, base: float | None) -> Verdict:
        if head is None or base is None:
            return Verdict(self.name, "cannot-judge", "cannot judge: value not measured", head, base)
        ratio = head / base if base else (math.inf if head > 0 else 1.0)
        t = self.settings.threshold
        if ratio > t and head - base > self.min_abs_delta:
            return Verdict(self.name, "fail", f"larger: x{ratio:.2f} > x{t:g} ({base:.4g} -> {head:.4g})", head, base, ratio)
        if ratio < 1 / t and base - head > self.min_abs_delta:
            return Verdict(self.name, "improved", f"smaller: x{ratio:.2f} ({base:.4g} -> {head:.4g})", head, base, ratio)
        return Verdict(self.name, "pass", f"no change beyond x{t:g}: x{ratio:.2f}", head, base, ratio)


# metric -> (unit, the BudgetBreach metric and Target limit that budget it)
METRICS = {
    "train_time": ("s/example", "task_seconds", "max_task_seconds"),
    "memory_mb": ("MB", "memory_mb", "max_memory_mb"),
    "storage_mb": ("MB", "storage_mb", "max_storage_mb"),
    "cpu_percent": ("%", "cpu_percent", "max_cpu_percent"),
}


def _key(record: dict) -> tuple[str, str]:
    return record["model"]["name"], record["device"]["id"]


def pool_rounds(records: list[dict]) -> list[dict]:
    """Several records of one model on one device (rounds of alternating base/head runs, each in
    its own sub-folder) become one: their repeats are concatenated, memory and CPU take the worst
    round. Any failed round makes the pooled result failed: the model did not always train."""
    import copy

    groups: dict[tuple[str, str], list[dict]] = {}
    for r in records:
        groups.setdefault(_key(r), []).append(r)
    out = []
    for rs in groups.values():
        if len(rs) == 1:
            out.append(rs[0])
            continue
        failed = [r for r in rs if r["status"] != "ok"]
        if failed:
            out.append(failed[0])
            continue
        merged = copy.deepcopy(rs[0])
        t = merged["timing"]
        t["step_seconds"] = [rep for r in rs for rep in r["timing"]["step_seconds"]]
        t["step_examples"] = [rep for r in rs for rep in r["timing"]["step_examples"]]
        values = [v for r in rs for v in ((r["timing"].get("seconds_per_5000") or {}).get("values") or [])]
        if values:
            t["seconds_per_5000"] = {
                "mean": float(np.mean(values)),
                "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
                "values": values,
            }
        for section, fields in (("memory", ("peak_mb", "peak_delta_mb")), ("cpu", ("mean_percent", "max_percent"))):
            for f in fields:
                vals = [r[section].get(f) for r in rs if r[section].get(f) is not None]
                merged[section][f] = max(vals) if vals else None
        merged.setdefault("extra", {})["pooled_rounds"] = len(rs)
        out.append(merged)
    return out


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

    def to_dict(self) -> dict:
        return {
            "passed": self.passed,
            "failures": len(self.failures),
            "threshold": self.settings.threshold,
            "alpha": self.settings.alpha,
            "targets": self.targets,
            "missing_base": [list(k) for k in self.missing_base],
            "missing_head": [list(k) for k in self.missing_head],
            "cases": [c.to_dict() for c in self.cases],
        }


def _budget_value(breach_metric: str, record: dict, target: Target) -> float | None:
    if breach_metric == "task_seconds":
        return worst_task_seconds(record, target)
    if breach_metric == "cpu_percent":
        return (record.get("cpu") or {}).get("mean_percent")
    return {"memory_mb": memory_mb, "storage_mb": storage_mb}[breach_metric](record)


def evaluate(
    head: list[dict], base: list[dict] | None, targets: dict[str, Target], settings: GateSettings | None = None
) -> GateResult:
    """Check every head record against the budgets of `targets` and, where the base has an ok
    result for the same model and device, against the base. `base=None`: budgets only."""
    settings = settings or GateSettings()
    head = pool_rounds(head)
    base = pool_rounds(base) if base is not None else None
    base_by_key = {_key(r): r for r in (base or [])}
    cases: list[CaseResult] = []
    missing_base = []
    for rec in sorted(head, key=_key):
        model, device = _key(rec)
        by_metric = {m: CaseResult(model, device, m, unit) for m, (unit, _, _) in METRICS.items()}
        run_case = CaseResult(model, device, "runs", "")
        targeted = not targets
        for name, target in targets.items():
            unsupported = device_supported(name, target, rec)
            targeted = targeted or unsupported is None
            if unsupported:
                for c in by_metric.values():
                    c.verdicts.append(Verdict(f"budget:{name}", "not-targeted", f"not a {name} device: {unsupported}"))
                continue
            broken = {b.metric: b for b in check_record(name, target, rec)}
            for metric, (unit, breach_metric, limit_field) in METRICS.items():
                limit = getattr(target, limit_field)
                if limit is None:
                    continue
                if breach_metric in broken:
                    b = broken[breach_metric]
                    by_metric[metric].verdicts.append(Verdict(f"budget:{name}", "fail", b.message, b.value))
                elif rec["status"] == "ok" or breach_metric == "storage_mb":
                    what = (
                        f"p{target.task_quantile:g} x {target.task_examples} examples within {limit:g} s"
                        if breach_metric == "task_seconds"
                        else f"within {limit:g} {unit}"
                    )
                    by_metric[metric].verdicts.append(
                        Verdict(f"budget:{name}", "pass", f"{what} ({name})", _budget_value(breach_metric, rec, target))
                    )
        if rec["status"] != "ok" and targeted:
            err = rec.get("error") or {}
            run_case.verdicts.append(
                Verdict("run", "fail", f"training failed ({err.get('kind', 'error')}): {(err.get('message') or '')[:200]}")
            )
        b = base_by_key.get((model, device))
        regressions = {"train_time", "memory_mb", "storage_mb"}
        if base is None:
            pass  # no base folder given: budgets only
        elif b is None or b["status"] != "ok":
            missing_base.append((model, device))
            why = "no base result" if b is None else "the base run failed"
            for m in regressions:
                by_metric[m].verdicts.append(Verdict("regression", "no-base", f"{why}: nothing to compare with"))
        elif rec["status"] == "ok":
            by_metric["train_time"].verdicts.append(
                SampleRegression(settings)(
                    per_example_samples(rec), per_example_samples(b), per_repeat_samples(rec), per_repeat_samples(b)
                )
            )
            by_metric["memory_mb"].verdicts.append(
                ScalarRegression(settings, settings.min_memory_delta_mb)(memory_mb(rec), memory_mb(b))
            )
            by_metric["storage_mb"].verdicts.append(ScalarRegression(settings)(storage_mb(rec), storage_mb(b)))
        if run_case.verdicts:
            cases.append(run_case)
        cases.extend(c for c in by_metric.values() if c.verdicts)
    head_keys = {_key(r) for r in head}
    missing_head = sorted(k for k in base_by_key if k not in head_keys)
    return GateResult(cases, missing_base, missing_head, settings, list(targets))
