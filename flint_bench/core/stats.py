"""Summary statistics of raw timing samples. Pure functions, no I/O."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from .records import Summary


def summarize(samples: Iterable[float], trim: float = 0.1) -> Summary:
    """mean, std (sample), percentiles, trimmed mean (`trim` cut from each end), CV, min, max, n."""
    x = np.asarray(list(samples), dtype=float)
    n = int(x.size)
    if n == 0:
        return Summary(n=0, mean=None, std=None, min=None, max=None, p50=None, p90=None, p99=None, trimmed_mean=None, cv=None)
    mean = float(x.mean())
    std = float(x.std(ddof=1)) if n > 1 else 0.0
    return Summary(
        n=n,
        mean=mean,
        std=std,
        min=float(x.min()),
        max=float(x.max()),
        p50=float(np.percentile(x, 50)),
        p90=float(np.percentile(x, 90)),
        p99=float(np.percentile(x, 99)),
        trimmed_mean=trimmed_mean(x, trim),
        cv=std / mean if mean > 0 else None,
    )


def trimmed_mean(x: Sequence[float] | npt.NDArray[np.float64], trim: float = 0.1) -> float:
    s = np.sort(np.asarray(x, dtype=float))
    cut = math.floor(len(s) * trim)
    kept = s[cut : len(s) - cut] if len(s) - 2 * cut > 0 else s
    return float(kept.mean())


def mean_std(values: Iterable[float | None]) -> tuple[float | None, float | None]:
    x = np.asarray([v for v in values if v is not None], dtype=float)
    if x.size == 0:
        return None, None
    return float(x.mean()), float(x.std(ddof=1)) if x.size > 1 else 0.0


def finite(value: object) -> float | None:
    """A measured figure as a float; None when it is missing or not a finite number (NaN, ±inf,
    an int too large for a float, a string), so that no comparison can pass on it silently."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return None
    try:
        v = float(value)
    except OverflowError:
        return None
    return v if math.isfinite(v) else None


def json_safe(value: Any) -> Any:
    """`value` with every non-finite float replaced by None (JSON null): `NaN` and `Infinity` are
    not JSON, and `JSON.parse` (github-action-benchmark, browsers) rejects them."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return finite(value)
    return value
