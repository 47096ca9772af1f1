"""Report sections from other commands' outputs: the eligibility funnel, the simulator's
projections and the device profiles. Their inputs come from other tools and may lack a key, so
every read here is lenient."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from .privacy import privacy_charts, privacy_rows
from .svg import PALETTE, LineChart, hbar_chart, line_chart
from .text import fmt, pct

if TYPE_CHECKING:
    import pandas as pd


def _percent(v: Any) -> float | None:
    return None if v is None else 100 * float(v)


def eligibility_section(elig: dict[str, Any] | None) -> dict[str, Any] | None:
    """Each criterion's share alone, the funnel (the `all_of` criteria applied one after another,
    when the input has cumulative shares) and the fairness warnings."""
    if not elig:
        return None
    criteria = [c for c in elig.get("criteria") or [] if isinstance(c, dict)]
    alone = [
        {
            "label": str(c.get("name")),
            "value": _percent(c.get("share_alone")),
            "color": PALETTE[i % len(PALETTE)],
            "title": f"{c.get('name')} ({c.get('family')}): {pct(c.get('share_alone'))} of devices alone",
        }
        for i, c in enumerate(criteria)
    ]
    funnel_rows = [
        {
            "label": str(c.get("name")),
            "value": _percent(c.get("cumulative_share")),
            "color": "#0072B2",
            "title": f"after {c.get('name')}: {pct(c.get('cumulative_share'))}",
        }
        for c in criteria
        if c.get("cumulative_share") is not None
    ]
    if elig.get("all_criteria_share") is not None:
        (funnel_rows if funnel_rows else alone).append(
            {
                "label": "all criteria",
                "value": _percent(elig["all_criteria_share"]),
                "color": "#000000",
                "title": "every criterion of all_of together",
            }
        )
    if funnel_rows:
        funnel_rows.insert(
            0, {"label": "all devices", "value": 100.0, "color": "#999999", "title": f"{elig.get('devices')} devices"}
        )
    names = [str(c.get("name")) for c in criteria]
    subs = []
    for s in elig.get("subpopulations") or []:
        if isinstance(s, dict):
            by_name = {str(c.get("name")): c.get("share_alone") for c in s.get("criteria") or [] if isinstance(c, dict)}
            subs.append(s | {"_alone": [by_name.get(n) for n in names]})
    return {
        "devices": elig.get("devices"),
        "all_share": elig.get("all_criteria_share"),
        "criteria": criteria,
        "names": names,
        "all_of": elig.get("all_of") or [],
        "chart": hbar_chart("each criterion alone: share of devices left (%)", "%", alone, left=230, width=560)
        if alone
        else None,
        "funnel": hbar_chart("funnel: the required criteria applied one after another (%)", "%", funnel_rows, left=230, width=560)
        if funnel_rows
        else None,
        "subpopulations": subs,
        "warnings": [_shown_warning(w) for w in elig.get("fairness_warnings") or [] if isinstance(w, dict)],
    }


def _shown_warning(w: dict[str, Any]) -> dict[str, Any]:
    """The report prints a warning's figures itself; of the message it keeps only the advice after
    them ("...(ratio 0.52 < 0.8): the rule under-represents..."), so the figures are not said twice."""
    message = str(w.get("message") or "")
    return w | {"message": message.partition("): ")[2] or message}


def metric_label(metric: str) -> str:
    """A summary key as the table shows it: 'tasks.succeeded_per_s' -> 'tasks · succeeded / s'."""
    return metric.replace("_", " ").replace(".", " · ").replace("mb per s", "MB/s").replace("per s", "/ s")


def _stat_rows(node: Any, prefix: str = "") -> list[dict[str, Any]]:
    """Flatten the simulator summary: any dict with a 'median' is a metric; other scalars are settings."""
    rows = []
    if isinstance(node, dict):
        if "median" in node and not isinstance(node["median"], dict):
            return [
                {
                    "metric": prefix or "value",
                    "median": node.get("median"),
                    "min": node.get("min"),
                    "max": node.get("max"),
                    "scalar": None,
                }
            ]
        for k, v in node.items():
            rows.extend(_stat_rows(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(node, (int, float, str, bool)) or node is None:
        rows.append({"metric": prefix, "median": None, "min": None, "max": None, "scalar": node})
    return rows


def _curve_charts(summary: dict[str, Any] | None, curves: pd.DataFrame) -> list[LineChart]:
    """The model metric and, when recorded, the succeeded tasks over virtual time, a line per trial."""
    metric_name = summary.get("metric_name") if isinstance(summary, dict) else None
    name = metric_name if isinstance(metric_name, str) else None
    dtypes = {c: curves[c].dtype for c in curves.columns}
    numeric = [c for c, t in dtypes.items() if isinstance(t, np.dtype) and np.issubdtype(t, np.number)]
    value_col = "metric" if "metric" in numeric else next((c for c in numeric if c not in ("trial", "virtual_time_s")), None)
    hours = float(curves["virtual_time_s"].max()) / 3600
    scale, unit = (3600.0, "virtual hours") if hours >= 2 else (60.0, "virtual minutes")
    groups = list(curves.groupby("trial")) if "trial" in curves.columns else [(0, curves)]
    charts = []
    for col, label in ((value_col, name or value_col), ("tasks_succeeded", "tasks succeeded")):
        if col is None or col not in curves.columns:
            continue
        series = []
        for trial, g in groups:
            g = g.sort_values("virtual_time_s")
            series.append((f"trial {trial}", (g["virtual_time_s"] / scale).tolist(), g[col].astype(float).tolist()))
        charts.append(line_chart(f"{label} over virtual time, one line per trial", unit, str(label), series))
    return charts


def simulation_section(summary: dict[str, Any] | None, curves: pd.DataFrame | None) -> dict[str, Any] | None:
    """Simulator projections: per-metric median [min, max] over trials, and curves per trial."""
    if summary is None and curves is None:
        return None
    rows = _stat_rows({k: v for k, v in (summary or {}).items() if k != "per_trial"})
    stats = []
    for r in rows:
        if r["scalar"] is None and not (r["median"] is None and r["min"] is None):
            r["metric"] = r["metric"].removeprefix("metrics.")
            stats.append(r | {"label": metric_label(r["metric"])})
    settings = [r for r in rows if r["scalar"] is not None]
    has_curves = curves is not None and len(curves) and "virtual_time_s" in curves.columns
    charts = _curve_charts(summary, curves) if has_curves and curves is not None else []
    # a DP sweep's folder: the ε–metric–time table and its charts (report/privacy.py)
    stats, charts = stats + privacy_rows(summary), charts + privacy_charts(summary)
    named = summary if isinstance(summary, dict) else {}
    return {"stats": stats, "settings": settings, "charts": charts, "model": named.get("model"), "mode": named.get("mode")}


# The profile columns a reader needs (flint_bench.profiles.build.COLUMNS), with readable headers.
PROFILE_VIEW = [
    ("device_model", "device model", None),
    ("os", "OS", None),
    ("os_version", "OS version", None),
    ("model", "model", None),
    ("n_devices", "devices", None),
    ("n_samples", "samples", None),
    ("per_example_s_p50", "p50 ms/example", 1000.0),
    ("per_example_s_p90", "p90 ms/example", 1000.0),
    ("per_example_s_p99", "p99 ms/example", 1000.0),
    ("peak_memory_mb", "memory MB (worst)", None),
    ("cpu_mean_percent", "CPU % (worst)", None),
    ("n_failed", "failed", None),
]


def _profile_cell(v: Any, scale: float | None = None) -> str:
    if isinstance(v, (list, tuple, np.ndarray)):
        vals = list(v)
        shown = ", ".join(fmt(float(x)) if isinstance(x, (int, float, np.floating)) else str(x) for x in vals[:7])
        return shown + (" …" if len(vals) > 7 else "")
    if isinstance(v, (float, np.floating)):
        return "-" if not math.isfinite(float(v)) else fmt(float(v) * (scale or 1.0), ".4g")
    return "-" if v is None else str(v)


def profiles_section(frame: pd.DataFrame | None, limit: int = 300) -> dict[str, Any] | None:
    """The device-profile table: the columns a reader needs when the frame has them, else every
    column as stored (lists shortened)."""
    if frame is None:
        return None
    view = [c for c in PROFILE_VIEW if c[0] in frame.columns]
    if len(view) < 6:  # not the profiles engineer's layout: show everything
        view = [(str(c), str(c), None) for c in frame.columns]
    rows = [
        [_profile_cell(row[i], scale) for i, (_, _, scale) in enumerate(view)]
        for row in frame[[v[0] for v in view]].head(limit).itertuples(index=False)
    ]
    return {"columns": [v[1] for v in view], "rows": rows, "total": len(frame), "shown": len(rows)}
