"""The Table-5-style summary of result records. Pure: records in, rows out."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

MB = 1e6


def _mean(values):
    v = [x for x in values if x is not None]
    return float(np.mean(v)) if v else None


def table5(records: list[dict]) -> list[dict]:
    """One row per model over its ok records: sizes, mean peak memory, mean/std seconds per 5,000
    examples (std over every repeat on every device: the spread across devices), mean CPU %."""
    by_model: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        by_model[r["model"]["name"]].append(r)
    rows = []
    for name in sorted(by_model):
        rs = by_model[name]
        ok = [r for r in rs if r["status"] == "ok"]
        m = (ok or rs)[0]["model"]
        per_5000 = [v for r in ok for v in (r["timing"]["seconds_per_5000"] or {}).get("values", [])]
        rows.append(
            {
                "model": name,
                "description": m.get("description"),
                "trainable_params": m["trainable_params"],
                "storage_mb": m["storage_bytes"] / MB if m["storage_bytes"] is not None else None,
                "network_mb": _mean(r["network"]["total_bytes"] for r in rs) / MB
                if rs[0]["network"]["total_bytes"] is not None
                else None,
                "memory_mb": _mean(r["memory"]["peak_delta_mb"] for r in ok),
                "mean_s_per_5000": float(np.mean(per_5000)) if per_5000 else None,
                "std_s_per_5000": float(np.std(per_5000, ddof=1)) if len(per_5000) > 1 else None,
                "mean_cpu_percent": _mean(r["cpu"]["mean_percent"] for r in ok),
                "devices_ok": len({r["device"]["id"] for r in ok}),
                "devices_failed": len({r["device"]["id"] for r in rs if r["status"] != "ok"}),
            }
        )
    return rows


def human_params(n: int | None) -> str:
    if n is None:
        return "-"
    return f"{n / 1000:.2f}k" if n < 10_000 else f"{n / 1000:.0f}k"
