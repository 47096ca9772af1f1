"""How steady a run's per-step times were: the record's `stability` section. Pure functions, no I/O.

The score follows ExecuTorch's benchmark stability analysis
(`.ci/scripts/benchmark_tooling/analyze_benchmark_stability.py`, `calculate_stability_metrics`),
rescaled from 0-100 to 0-1:

    score = 0.50 * max(0, 1 - CV% / 10)             a CV of 10 % or more scores 0
          + 0.25 * max(0, 1 - (max/min - 1) / 2)    a max/min ratio of 3 or more scores 0
          + 0.25 * max(0, 1 - (p99/p50 - 1))        a p99/p50 ratio of 2 or more scores 0

CV uses the sample standard deviation (ddof = 1) and percentiles are numpy's linear interpolation,
as there. The samples are per-example step times, so steps of different batch sizes compare.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .records import Record, RecordError, StabilitySection, per_example_samples

CV_WEIGHT, MAX_MIN_WEIGHT, P99_P50_WEIGHT = 0.5, 0.25, 0.25


def stability(samples: Iterable[float]) -> StabilitySection:
    """CV, IQR / median, p99 / p50 and the 0-1 score of positive timing samples. Fewer than two
    samples, or a zero time, say nothing about spread: every figure is None then."""
    x = np.asarray([s for s in samples], dtype=float)
    n = int(x.size)
    if n < 2 or not np.all(np.isfinite(x)) or float(x.min()) <= 0:
        return {"n": n, "cv": None, "iqr_over_median": None, "p99_over_p50": None, "score": None}
    mean, median = float(x.mean()), float(np.median(x))
    cv = float(x.std(ddof=1)) / mean
    iqr = float(np.percentile(x, 75) - np.percentile(x, 25))
    p99_p50 = float(np.percentile(x, 99)) / float(np.percentile(x, 50))
    max_min = float(x.max()) / float(x.min())
    score = (
        CV_WEIGHT * max(0.0, 1 - cv * 100 / 10)
        + MAX_MIN_WEIGHT * max(0.0, 1 - (max_min - 1) / 2)
        + P99_P50_WEIGHT * max(0.0, 1 - (p99_p50 - 1))
    )
    return {"n": n, "cv": cv, "iqr_over_median": iqr / median, "p99_over_p50": p99_p50, "score": min(1.0, max(0.0, score))}


def record_stability(record: Record) -> StabilitySection | None:
    """The stability of a record's per-step times; None when it carries none (a failed run, a
    farm that reports only totals) or its timing lists disagree."""
    try:
        samples = per_example_samples(record)
    except (RecordError, KeyError, TypeError):
        return None
    return stability(samples) if samples else None
