"""The report's content: result records (and optional profiles, eligibility, simulation) in, one
context dict out for the HTML and Markdown templates. Pure: no file access, no rendering."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np

from ..gate.budgets import Target, check_record, device_supported, memory_mb, task_seconds
from ..gate.checks import per_example_samples
from ..summary import human_params, table5
from .svg import PALETTE, hbar_chart, line_chart


def _f(v: Any, spec: str = ".3g") -> str:
    """Readable numbers: thousands with separators instead of 6.1e+04."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) >= 1000 and spec.endswith("g"):
        return f"{v:,.0f}"
    return format(v, spec)


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.0f}%"


def _device_label(d: dict) -> str:
    return str(d["id"])


def compatibility(records: list[dict], targets: dict[str, Target]) -> dict:
    """Per model and target: which devices can run it within budget, the share, and why not."""
    devices = sorted({r["device"]["id"] for r in records})
    by_key = {(r["model"]["name"], r["device"]["id"]): r for r in records}
    models = sorted({r["model"]["name"] for r in records})
    rows, matrix = [], []
    for model in models:
        per_target = []
        for tname, target in targets.items():
            ok, cells = 0, {}
            per_metric: dict[str, list[tuple[str, Any]]] = defaultdict(list)  # breach metric -> (device, breach)
            for dev in devices:
                rec = by_key.get((model, dev))
                if rec is None:
                    cells[dev] = ("missing", "not measured on this device")
                    continue
                unsupported = device_supported(tname, target, rec)
                if unsupported:
                    cells[dev] = ("not-targeted", unsupported)
                    continue
                breaches = check_record(tname, target, rec)
                if breaches:
                    cells[dev] = ("blocked", "; ".join(b.message for b in breaches))
                    for b in breaches:
                        per_metric[b.metric].append((dev, b))
                else:
                    ok += 1
                    cells[dev] = ("ok", "within every budget")
            per_target.append(
                {
                    "target": tname,
                    "ok": ok,
                    "devices": len(devices),
                    "share": ok / len(devices) if devices else None,
                    "reasons": [_reason(m, hits, len(devices)) for m, hits in per_metric.items()],
                    "cells": cells,
                }
            )
        rows.append({"model": model, "targets": per_target})
        for dev in devices:
            matrix.append({"model": model, "device": dev, "cells": [t["cells"][dev] for t in per_target]})
    return {
        "devices": devices,
        "rows": rows,
        "matrix": matrix,
        "targets": [
            {
                "name": n,
                "kind": t.kind,
                "max_storage_mb": t.max_storage_mb,
                "max_memory_mb": t.max_memory_mb,
                "max_task_seconds": t.max_task_seconds,
                "task": f"p{t.task_quantile:g} x {t.task_examples}",
                "max_cpu_percent": t.max_cpu_percent,
                "min_os_version": _os_rule(t.min_os_version),
                "platforms": ", ".join(t.platforms) if t.platforms else "any",
                "description": t.description,
            }
            for n, t in targets.items()
        ],
    }


def _reason(metric: str, hits: list[tuple[str, Any]], n_devices: int) -> str:
    """One blocking reason per budget: the storage limit once, a per-device limit with the devices
    (and the range of values when several devices break it)."""
    if metric == "storage_mb" or len(hits) == 1:
        dev, b = hits[0]
        return b.message if metric == "storage_mb" else f"{b.message} on {dev}"
    devs = ", ".join(d for d, _ in hits[:4]) + (f" and {len(hits) - 4} more" if len(hits) > 4 else "")
    values = [b.value for _, b in hits if b.value is not None]
    first = hits[0][1]
    if metric == "status":
        return f"training failed on {len(hits)} of {n_devices} devices ({devs})"
    what = {"memory_mb": "memory", "task_seconds": "worst-case task", "cpu_percent": "mean CPU"}.get(metric, metric)
    unit = {"memory_mb": " MB", "task_seconds": " s", "cpu_percent": "%"}.get(metric, "")
    span = f" {min(values):.3g}-{max(values):.3g}{unit}" if values else ""
    return f"{what}{span} > limit {first.limit:g}{unit} ({first.target}) on {len(hits)} of {n_devices} devices ({devs})"


def _os_rule(rule: Any) -> str:
    if rule is None:
        return "-"
    if isinstance(rule, dict):
        return ", ".join(f"{k} {v}" for k, v in rule.items())
    return f"{rule} (every OS)"


def table5_rows(records: list[dict]) -> list[dict]:
    """The paper's Table 5 per model, plus the spread of the per-device means across devices."""
    per_dev: dict[str, list[float]] = defaultdict(list)
    for r in records:
        if r["status"] == "ok" and task_seconds(r) is not None:
            per_dev[r["model"]["name"]].append(task_seconds(r))
    rows = []
    for row in table5(records):
        dm = per_dev.get(row["model"], [])
        rows.append(
            row
            | {
                "trainable": human_params(row["trainable_params"]),
                "device_min_s": min(dm) if dm else None,
                "device_max_s": max(dm) if dm else None,
                "device_cv": float(np.std(dm, ddof=1) / np.mean(dm)) if len(dm) > 1 and np.mean(dm) > 0 else None,
            }
        )
    return rows


def figure4(records: list[dict], colors: dict[str, str]) -> list:
    """The paper's Figure 4: training seconds per 5,000 examples per device, one panel per ML model;
    bars = mean over repeats, whiskers = p10-p90 of the per-step samples scaled to 5,000 examples."""
    panels = []
    for model in sorted({r["model"]["name"] for r in records}):
        rows = []
        for r in sorted((r for r in records if r["model"]["name"] == model), key=lambda r: r["device"]["id"]):
            s = per_example_samples(r) if r["status"] == "ok" else []
            lo, hi = (np.percentile(s, [10, 90]) * 5000).tolist() if s else (None, None)
            v = task_seconds(r) if r["status"] == "ok" else None
            rows.append(
                {
                    "label": _device_label(r["device"]),
                    "value": v,
                    "lo": lo,
                    "hi": hi,
                    "color": colors[model],
                    "missing": "failed" if r["status"] != "ok" else "n/a",
                    "title": f"{model} on {r['device']['id']}: "
                    + (
                        f"{v:.4g} s per 5,000 examples (p10-p90 {lo:.4g}-{hi:.4g} s)"
                        if v is not None and lo is not None
                        else "failed"
                    ),
                }
            )
        panels.append(
            hbar_chart(f"model {model}", "s per 5,000 examples", rows, note="bar: mean; whisker: p10-p90 of per-step times")
        )
    return panels


def resource_charts(records: list[dict], colors: dict[str, str]) -> list:
    """CPU % and peak memory per device, a bar per (device, model) in the model's colour."""
    rows_cpu, rows_mem = [], []
    for r in sorted(records, key=lambda r: (r["device"]["id"], r["model"]["name"])):
        model, dev = r["model"]["name"], _device_label(r["device"])
        ok = r["status"] == "ok"
        cpu = r["cpu"].get("mean_percent") if ok else None
        mem = memory_mb(r) if ok else None
        missing = "n/a" if ok else "failed"
        # model first: a long device name is cut at the end, the model stays readable
        rows_cpu.append(
            {
                "label": f"{model} · {dev}",
                "value": cpu,
                "color": colors[model],
                "missing": missing,
                "hi": r["cpu"].get("max_percent") if ok else None,
                "lo": cpu,
                "title": f"{model} on {dev}: mean {_f(cpu)} %, max {_f(r['cpu'].get('max_percent'))} %",
            }
        )
        rows_mem.append(
            {
                "label": f"{model} · {dev}",
                "value": mem,
                "color": colors[model],
                "missing": missing,
                "title": f"{model} on {dev}: {_f(mem)} MB",
            }
        )
    legend = [(m, c) for m, c in colors.items()]
    return [
        hbar_chart("CPU (mean %, whisker to max; 100 = one core)", "%", rows_cpu, legend=legend),
        hbar_chart("peak memory above baseline (MB)", "MB", rows_mem, legend=legend),
    ]


def device_table(records: list[dict]) -> list[dict]:
    """One row per model x device; a failed run's partial measurements are not shown as figures."""
    rows = []
    for r in sorted(records, key=lambda r: (r["device"]["id"], r["model"]["name"])):
        ok = r["status"] == "ok"
        pe = (r["timing"].get("per_example_seconds") or {}) if ok else {}
        cpu = r["cpu"] if ok else {}
        rows.append(
            {
                "device": r["device"]["id"],
                "model": r["model"]["name"],
                "status": r["status"],
                "error": (r.get("error") or {}).get("message"),
                "s_per_5000": task_seconds(r) if ok else None,
                "p50_ms": pe.get("p50") * 1000 if pe.get("p50") is not None else None,
                "p90_ms": pe.get("p90") * 1000 if pe.get("p90") is not None else None,
                "cv": pe.get("cv"),
                "cpu_mean": cpu.get("mean_percent"),
                "cpu_max": cpu.get("max_percent"),
                "memory_mb": memory_mb(r) if ok else None,
                "peak_mb": r["memory"].get("peak_mb") if ok else None,
                "memory_method": r["memory"].get("method"),
            }
        )
    return rows


def provenance(records: list[dict], inputs: dict[str, str | None], generated: str, tool_version: str) -> dict:
    def uniq(values):
        return sorted({str(v) for v in values if v is not None})

    devices = {}
    for r in records:
        devices.setdefault(r["device"]["id"], r["device"])
    started = [r["timestamps"]["started"] for r in records if r.get("timestamps")]
    finished = [r["timestamps"]["finished"] for r in records if r.get("timestamps")]
    bench = uniq(
        f"{b['examples']} examples, batch {b['batch_size']}, {b['repeats']} repeats, {b['warmup_steps']} warm-up steps, {b.get('epochs', 1)} epoch(s)"
        for b in (r["benchmark"] for r in records)
    )
    return {
        "generated": generated,
        "report_tool": tool_version,
        "tool_versions": uniq((r.get("host") or {}).get("flint_bench_version") for r in records),
        "runtimes": uniq(f"{r['runtime']['name']} {r['runtime'].get('version') or ''}".strip() for r in records),
        "inference_runtimes": uniq(r["timing"].get("inference_runtime") for r in records),
        "farms": uniq(r["device"].get("farm") for r in records),
        "commits": uniq((r.get("host") or {}).get("commit") for r in records),
        "hosts": uniq((r.get("host") or {}).get("hostname") for r in records),
        "run_ids": uniq(r.get("run_id") for r in records),
        "started": min(started) if started else None,
        "finished": max(finished) if finished else None,
        "benchmark": bench,
        "artifacts": sorted(
            {(r["model"]["name"], r["model"].get("format"), (r["model"].get("artifact_sha256") or "")[:16]) for r in records}
        ),
        "devices": [devices[k] for k in sorted(devices)],
        "inputs": {k: v for k, v in inputs.items() if v},
    }


def eligibility_section(elig: dict | None) -> dict | None:
    """Each criterion's share alone, the funnel (the `all_of` criteria applied one after another,
    when the input has cumulative shares) and the fairness warnings."""
    if not elig:
        return None
    criteria = [c for c in elig.get("criteria") or [] if isinstance(c, dict)]

    def pct_or_none(v):
        return None if v is None else 100 * float(v)

    alone = [
        {
            "label": str(c.get("name")),
            "value": pct_or_none(c.get("share_alone")),
            "color": PALETTE[i % len(PALETTE)],
            "title": f"{c.get('name')} ({c.get('family')}): {_pct(c.get('share_alone'))} of devices alone",
        }
        for i, c in enumerate(criteria)
    ]
    funnel_rows = [
        {
            "label": str(c.get("name")),
            "value": pct_or_none(c.get("cumulative_share")),
            "color": "#0072B2",
            "title": f"after {c.get('name')}: {_pct(c.get('cumulative_share'))}",
        }
        for c in criteria
        if c.get("cumulative_share") is not None
    ]
    if elig.get("all_criteria_share") is not None:
        (funnel_rows if funnel_rows else alone).append(
            {
                "label": "all criteria",
                "value": pct_or_none(elig["all_criteria_share"]),
                "color": "#000000",
                "title": "every criterion of all_of together",
            }
        )
    if funnel_rows:
        funnel_rows.insert(
            0, {"label": "all devices", "value": 100.0, "color": "#999999", "title": f"{elig.get('devices')} devices"}
        )
    subs = [s for s in elig.get("subpopulations") or [] if isinstance(s, dict)]
    names = [str(c.get("name")) for c in criteria]
    for s in subs:
        by_name = {str(c.get("name")): c.get("share_alone") for c in s.get("criteria") or [] if isinstance(c, dict)}
        s["_alone"] = [by_name.get(n) for n in names]
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
        "warnings": [w for w in elig.get("fairness_warnings") or [] if isinstance(w, dict)],
    }


def _stat_rows(node: Any, prefix: str = "") -> list[dict]:
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


def simulation_section(summary: dict | None, curves: Any | None) -> dict | None:
    """Simulator projections: per-metric median [min, max] over trials, and curves per trial
    (the model metric and, when recorded, the succeeded tasks) over virtual time."""
    if summary is None and curves is None:
        return None
    rows = _stat_rows({k: v for k, v in (summary or {}).items() if k != "per_trial"})
    stats = []
    for r in rows:
        if r["scalar"] is None and not (r["median"] is None and r["min"] is None):
            r["metric"] = r["metric"].removeprefix("metrics.")
            stats.append(r)
    settings = [r for r in rows if r["scalar"] is not None]
    charts = []
    if curves is not None and len(curves) and "virtual_time_s" in curves.columns:
        name = summary.get("metric_name") if isinstance(summary, dict) and isinstance(summary.get("metric_name"), str) else None
        value_col = (
            "metric"
            if "metric" in curves.columns and np.issubdtype(curves["metric"].dtype, np.number)
            else next(
                (c for c in curves.columns if c not in ("trial", "virtual_time_s") and np.issubdtype(curves[c].dtype, np.number)),
                None,
            )
        )
        hours = float(curves["virtual_time_s"].max()) / 3600
        scale, unit = (3600.0, "virtual hours") if hours >= 2 else (60.0, "virtual minutes")
        groups = list(curves.groupby("trial")) if "trial" in curves.columns else [(0, curves)]
        for col, label in ((value_col, name or value_col), ("tasks_succeeded", "tasks succeeded")):
            if col is None or col not in curves.columns:
                continue
            series = []
            for trial, g in groups:
                g = g.sort_values("virtual_time_s")
                series.append((f"trial {trial}", (g["virtual_time_s"] / scale).tolist(), g[col].astype(float).tolist()))
            charts.append(line_chart(f"{label} over virtual time, one line per trial", unit, label, series))
    return {"stats": stats, "settings": settings, "charts": charts}


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


def profiles_section(frame: Any | None, limit: int = 300) -> dict | None:
    """The device-profile table: the columns a reader needs when the frame has them, else every
    column as stored (lists shortened)."""
    if frame is None:
        return None

    def cell(v, scale=None):
        if isinstance(v, (list, tuple, np.ndarray)):
            vals = list(v)
            return ", ".join(_f(float(x)) if isinstance(x, (int, float, np.floating)) else str(x) for x in vals[:7]) + (
                " …" if len(vals) > 7 else ""
            )
        if isinstance(v, (float, np.floating)):
            return "-" if not math.isfinite(float(v)) else _f(float(v) * (scale or 1.0), ".4g")
        return "-" if v is None else str(v)

    view = [c for c in PROFILE_VIEW if c[0] in frame.columns]
    if len(view) < 6:  # not the profiles engineer's layout: show everything
        view = [(str(c), str(c), None) for c in frame.columns]
    rows = [
        [cell(row[i], scale) for i, (_, _, scale) in enumerate(view)]
        for row in frame[[v[0] for v in view]].head(limit).itertuples(index=False)
    ]
    return {"columns": [v[1] for v in view], "rows": rows, "total": len(frame), "shown": len(rows)}


def summary_section(records: list[dict], compat: dict, t5: list[dict], elig: dict | None) -> list[dict]:
    """Per model, one sentence a reader can act on: deployable where, on what share, blocked by what."""
    out = []
    for row in compat["rows"]:
        t5row = next((t for t in t5 if t["model"] == row["model"]), {})
        deployable = [t for t in row["targets"] if t["ok"] > 0]
        out.append(
            {
                "model": row["model"],
                "description": t5row.get("description"),
                "storage_mb": t5row.get("storage_mb"),
                "mean_s": t5row.get("mean_s_per_5000"),
                "targets": row["targets"],
                "deployable": bool(deployable),
                "best": max(row["targets"], key=lambda t: t["share"] or 0) if row["targets"] else None,
            }
        )
    return out


def build(
    records: list[dict],
    targets: dict[str, Target],
    *,
    budgets_source: str,
    profiles: Any = None,
    eligibility: dict | None = None,
    sim_summary: dict | None = None,
    sim_curves: Any = None,
    inputs: dict[str, str | None] | None = None,
    generated: str = "",
    tool_version: str = "",
) -> dict:
    models = sorted({r["model"]["name"] for r in records})
    colors = {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(models)}
    compat = compatibility(records, targets)
    t5 = table5_rows(records)
    return {
        "title": "flint-bench device-compatibility report",
        "models": models,
        "colors": colors,
        "n_records": len(records),
        "n_failed": sum(r["status"] != "ok" for r in records),
        "devices": compat["devices"],
        "summary": summary_section(records, compat, t5, eligibility),
        "table5": t5,
        "figure4": figure4(records, colors),
        "resources": resource_charts(records, colors),
        "device_rows": device_table(records),
        "compat": compat,
        "budgets_source": budgets_source,
        "eligibility": eligibility_section(eligibility),
        "simulation": simulation_section(sim_summary, sim_curves),
        "profiles": profiles_section(profiles),
        "provenance": provenance(records, inputs or {}, generated, tool_version),
        "fmt": _f,
        "pct": _pct,
    }
