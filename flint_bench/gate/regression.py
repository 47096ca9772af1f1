"""The gate's regression tests: is head slower or larger than base, and significantly so?

Each check is a tiny class whose `__call__` returns a Verdict (pytest-benchmark style). A slowdown
counts only when it is larger than the threshold AND significant on the raw per-step samples
(one-sided Mann-Whitney U, as asv does) AND the bootstrap confidence interval of the ratio of
medians excludes 1 (a rank test alone is fooled by bimodal samples: a few busy-mode steps shift
every rank) AND shows between the repeats (drift between runs is invisible to the steps of one
run); with too few samples the check says it cannot judge.
Pure: numbers in, verdicts out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

Status = Literal["pass", "fail", "improved", "cannot-judge", "inconclusive", "no-base", "not-targeted"]
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
    ci_low: float | None = None  # bootstrap confidence interval of the head/base median ratio
    ci_high: float | None = None


@dataclass
class GateSettings:
    threshold: float = 1.10  # head/base ratio beyond which a change can count (asv's default factor)
    alpha: float = 0.01  # Mann-Whitney U significance level
    min_samples: int = 6  # per side; below it the test cannot reach significance anyway
    min_memory_delta_mb: float = 1.0  # memory changes smaller than this are allocator noise
    # Per-step samples of one run miss the drift between runs (other load, clock scaling): a
    # slowdown must also show between the repeats' medians (see repeats_separate).
    repeat_check: bool = True
    ci_level: float = 0.95  # two-sided bootstrap interval of the median ratio
    bootstrap_resamples: int = 2000
    # Machine conditions (records with a `machine` section; conditions.py): beyond these the timing
    # comparison is inconclusive rather than a guess.
    busy_share: float = 0.25  # other processes' CPU share of the machine during training
    others_margin: float = 0.15  # the two sides' `others` shares may differ by this much
    cpu_factor: float = 1.5  # the worker's mean CPU % may differ by this factor (190% vs 100%: one core taken)
    fail_on_inconclusive: bool = False

    def check(self) -> None:
        """A UserError naming the option when a setting cannot mean anything (NaN fails every test)."""
        from ..core.errors import UserError

        if not (math.isfinite(self.threshold) and self.threshold > 1.0):
            raise UserError(f"--threshold {self.threshold}: must be a ratio above 1 (e.g. 1.10 for 10% slower).")
        if not 0 < self.alpha < 1:
            raise UserError(f"--alpha {self.alpha}: must be between 0 and 1 (e.g. 0.01).")
        if not 0 <= self.busy_share <= 1:
            raise UserError(f"--busy-share {self.busy_share}: must be a share of the machine between 0 and 1 (e.g. 0.25).")


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
    """The smallest one-sided p-value the exact Mann-Whitney U test can give for these sample sizes.
    Integer division: the binomial coefficient of 500-odd samples a side is beyond any float, and
    int / int rounds it to the tiny (or zero) float it is instead of overflowing."""
    return 1 / math.comb(n1 + n2, n1)


BOOTSTRAP_SEED = 0  # fixed: the same samples always get the same interval


def median_ratio_ci(head: np.ndarray, base: np.ndarray, level: float, resamples: int) -> tuple[float, float]:
    """Percentile bootstrap interval of median(head) / median(base), each side resampled on its own."""
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    h = np.median(head[rng.integers(0, head.size, (resamples, head.size))], axis=1)
    b = np.median(base[rng.integers(0, base.size, (resamples, base.size))], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(b > 0, h / np.where(b > 0, b, 1.0), np.inf)
    tail = (1 - level) / 2
    low, high = np.quantile(ratios, [tail, 1 - tail])
    return float(low), float(high)


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
        bad = int(np.sum(~np.isfinite(h)) + np.sum(~np.isfinite(b)) + np.sum(h < 0) + np.sum(b < 0))
        if bad:  # NaN has no rank: the test and the medians would be meaningless
            return Verdict(
                self.name, "cannot-judge", f"cannot judge: {bad} per-example time(s) not a finite, non-negative number"
            )
        if h.size < s.min_samples or b.size < s.min_samples or min_p_value(h.size, b.size) >= s.alpha:
            few_h = float(np.median(h)) if h.size else None
            few_b = float(np.median(b)) if b.size else None
            return Verdict(
                self.name,
                "cannot-judge",
                f"cannot judge: {h.size} head and {b.size} base samples; "
                f"need at least {s.min_samples} each for a Mann-Whitney U test at p < {s.alpha:g} (run more examples or repeats)",
                few_h,
                few_b,
                few_h / few_b if few_h and few_b else None,
            )
        hm, bm = float(np.median(h)), float(np.median(b))
        ratio = hm / bm if bm else math.inf
        slower = mannwhitneyu(h, b, alternative="greater").pvalue
        faster = mannwhitneyu(h, b, alternative="less").pvalue
        low, high = median_ratio_ci(h, b, s.ci_level, s.bootstrap_resamples)
        ci = f"{s.ci_level:.0%} CI x{low:.2f}-x{high:.2f}"
        # the interval must exclude no change: a median ratio beyond the threshold is not enough
        # when the interval reaches back to 1 (bimodal samples make it wide)
        slower_ci, faster_ci = low > 1.0, high < 1.0
        repeats = (
            (head_repeats, base_repeats)
            if s.repeat_check
            and head_repeats is not None
            and base_repeats is not None
            and sum(1 for r in head_repeats if len(r)) >= 2
            and sum(1 for r in base_repeats if len(r)) >= 2
            else None
        )
        if repeats and (
            (ratio > s.threshold and slower < s.alpha and slower_ci)
            or (ratio < 1 / s.threshold and faster < s.alpha and faster_ci)
        ):
            separate, span = repeats_separate(*repeats, slower=ratio > 1, alpha=s.alpha)
            if not separate:
                return Verdict(
                    self.name,
                    "cannot-judge",
                    f"cannot judge: x{ratio:.2f} ({ci}) with p = {min(slower, faster):.2g} on the steps, "
                    f"but the repeats overlap ({span}): the machine drifted between repeats; measure base and head "
                    "in alternating rounds",
                    hm,
                    bm,
                    ratio,
                    float(min(slower, faster)),
                    low,
                    high,
                )
        if ratio > s.threshold and slower < s.alpha and slower_ci:
            return Verdict(
                self.name,
                "fail",
                f"slower: median x{ratio:.2f} > x{s.threshold:g} ({ci}), Mann-Whitney U p = {slower:.2g} < {s.alpha:g}",
                hm,
                bm,
                ratio,
                float(slower),
                low,
                high,
            )
        if ratio < 1 / s.threshold and faster < s.alpha and faster_ci:
            message = f"faster: median x{ratio:.2f} ({ci}), p = {faster:.2g}"
            return Verdict(self.name, "improved", message, hm, bm, ratio, float(faster), low, high)
        p = float(min(slower, faster))
        why = (
            "within the threshold"
            if 1 / s.threshold <= ratio <= s.threshold
            else "not significant"
            if min(slower, faster) >= s.alpha
            else "the interval reaches no change"
        )
        message = f"no significant change: x{ratio:.2f} ({why}, {ci}, p = {p:.2g})"
        return Verdict(self.name, "pass", message, hm, bm, ratio, p, low, high)


@dataclass
class ScalarRegression:
    """A single measured value (storage, memory): head/base beyond the threshold and, for noisy
    values, beyond a minimum absolute change. No samples, so no significance test: deterministic
    values (storage) need none, and memory gets the absolute floor instead."""

    settings: GateSettings
    min_abs_delta: float = 0.0
    name: str = "regression"

    def __call__(self, head: float | None, base: float | None) -> Verdict:
        if head is None or base is None or not math.isfinite(head) or not math.isfinite(base):
            return Verdict(self.name, "cannot-judge", "cannot judge: value not measured, or not a finite number")
        ratio = head / base if base else (math.inf if head > 0 else 1.0)
        t = self.settings.threshold
        if ratio > t and head - base > self.min_abs_delta:
            return Verdict(self.name, "fail", f"larger: x{ratio:.2f} > x{t:g} ({base:.4g} -> {head:.4g})", head, base, ratio)
        if ratio < 1 / t and base - head > self.min_abs_delta:
            return Verdict(self.name, "improved", f"smaller: x{ratio:.2f} ({base:.4g} -> {head:.4g})", head, base, ratio)
        return Verdict(self.name, "pass", f"no change beyond x{t:g}: x{ratio:.2f}", head, base, ratio)
