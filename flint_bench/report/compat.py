"""Where each model can be deployed: result records judged against the budget targets, per device."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ..budgets import BudgetBreach, Target, check_record, device_supported, record_figures
from ..core.records import Record
from .table5 import Table5Row


def compatibility(records: list[Record], targets: dict[str, Target]) -> dict[str, Any]:
    """Per model and target: which devices can run it within budget, the share, and why not."""
    devices = sorted({r["device"]["id"] for r in records})
    by_key = {(r["model"]["name"], r["device"]["id"]): r for r in records}
    models = sorted({r["model"]["name"] for r in records})
    rows, matrix = [], []
    for model in models:
        per_target = [_target_row(model, devices, by_key, tname, target) for tname, target in targets.items()]
        rows.append({"model": model, "targets": per_target})
        for dev in devices:
            matrix.append({"model": model, "device": dev, "cells": [t["cells"][dev] for t in per_target]})
    return {"devices": devices, "rows": rows, "matrix": matrix, "targets": [_target_view(n, t) for n, t in targets.items()]}


def _target_row(
    model: str, devices: list[str], by_key: dict[tuple[str, str], Record], tname: str, target: Target
) -> dict[str, Any]:
    ok, cells = 0, {}
    per_metric: dict[str, list[tuple[str, BudgetBreach]]] = defaultdict(list)  # breach metric -> (device, breach)
    for dev in devices:
        rec = by_key.get((model, dev))
        if rec is None:
            cells[dev] = ("missing", "not measured on this device")
            continue
        unsupported = device_supported(target, rec)
        if unsupported:
            cells[dev] = ("not-targeted", unsupported)
            continue
        breaches = check_record(tname, target, rec)
        unknown = target.unknown(record_figures(rec, target)) if rec["status"] == "ok" else []
        if breaches:
            cells[dev] = ("blocked", "; ".join(b.message for b in breaches))
            for b in breaches:
                per_metric[b.metric].append((dev, b))
        elif unknown:  # never counted as deployable: a figure it is limited on is missing or NaN
            cells[dev] = ("unknown", "; ".join(f"{target.unknown_reason(m)} ({tname})" for m in unknown))
            for m in unknown:
                per_metric[f"unknown:{m}"].append((dev, BudgetBreach(m, tname, target.unknown_reason(m))))
        else:
            ok += 1
            cells[dev] = ("ok", "within every budget")
    return {
        "target": tname,
        "ok": ok,
        "devices": len(devices),
        "share": ok / len(devices) if devices else None,
        "reasons": [_reason(m, hits, len(devices)) for m, hits in per_metric.items()],
        "cells": cells,
    }


def _target_view(name: str, t: Target) -> dict[str, Any]:
    return {
        "name": name,
        "kind": t.kind,
        "max_storage_mb": t.storage_limit_mb,
        "max_memory_mb": t.max_memory_mb,
        "max_task_seconds": t.max_task_seconds,
        "task": f"p{t.task_quantile:g} x {t.task_examples}",
        "max_cpu_percent": t.max_cpu_percent,
        "min_os_version": _os_rule(t.min_os_version),
        "platforms": ", ".join(t.platforms) if t.platforms else "any",
        "description": t.description,
    }


def _reason(metric: str, hits: list[tuple[str, BudgetBreach]], n_devices: int) -> str:
    """One blocking reason per budget: the storage limit once, a per-device limit with the devices
    (and the range of values when several devices break it)."""
    if metric.startswith("unknown:"):
        devs = ", ".join(d for d, _ in hits[:4]) + (f" and {len(hits) - 4} more" if len(hits) > 4 else "")
        return f"{hits[0][1].message} on {len(hits)} of {n_devices} devices ({devs})"
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
    limit = f"{first.limit:g}" if first.limit is not None else "-"
    return f"{what}{span} > limit {limit}{unit} ({first.target}) on {len(hits)} of {n_devices} devices ({devs})"


def _os_rule(rule: Any) -> str:
    if rule is None:
        return "-"
    if isinstance(rule, dict):
        return ", ".join(f"{k} {v}" for k, v in rule.items())
    return f"{rule} (every OS)"


def deployability(compat: dict[str, Any], t5: list[Table5Row]) -> list[dict[str, Any]]:
    """Per model, one sentence a reader can act on: deployable where, on what share, blocked by what."""
    out = []
    by_model = {row.model: row for row in t5}
    for row in compat["rows"]:
        t5row = by_model.get(row["model"])
        deployable = [t for t in row["targets"] if t["ok"] > 0]
        out.append(
            {
                "model": row["model"],
                "description": t5row.description if t5row else None,
                "storage_mb": t5row.storage_mb if t5row else None,
                "mean_s": t5row.mean_s_per_5000 if t5row else None,
                "targets": row["targets"],
                "deployable": bool(deployable),
                "best": max(row["targets"], key=lambda t: t["share"] or 0) if row["targets"] else None,
            }
        )
    return out
