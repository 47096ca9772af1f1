"""How the report writes numbers: the templates and the section builders share these two."""

from __future__ import annotations

import math
from typing import Any


def fmt(v: Any, spec: str = ".3g") -> str:
    """Readable numbers: thousands with separators instead of 6.1e+04."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) >= 1000 and spec.endswith("g"):
        return f"{v:,.0f}"
    return format(v, spec)


def pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.0f}%"
