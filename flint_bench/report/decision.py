"""A decision of `flint-bench assess` (decision.json) as text: the decision table, the simulation
details and the coverage, shared by the command's table, decision.md and the report's top section.
A figure that is null reads "not available", never a number."""

from __future__ import annotations

from typing import Any

TABLE_COLUMNS = ["model", "target", "verdict", "devices ok", "deployable models", "deployable sessions", "eligible devices"]


def pct(x: float | None) -> str:
    return "not available" if x is None else f"{100 * x:.0f}%"


def num(x: float | None, spec: str = ".3g") -> str:
    return "not available" if x is None else format(x, spec)


def spread_text(s: dict[str, Any] | None, unit: str = "", trials: int | None = None) -> str:
    """'median [min-max]' over trials; how many trials had a value when not all did."""
    if not s or s["median"] is None:
        return "not reached" if trials else "not available"
    text = f"{s['median']:.3g} [{s['min']:.3g}–{s['max']:.3g}]{unit}"
    return text + (f" ({s['n']}/{trials} trials)" if trials and s["n"] < trials else "")


def modes_of(doc: dict[str, Any]) -> list[str]:
    return sorted({m for d in doc["decisions"] for m in d["modes"]})


def table_rows(doc: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """The decision table: one row per model x target."""
    modes = modes_of(doc)
    columns = TABLE_COLUMNS + [f"{m} h to target" for m in modes] + (["FedBuff speed-up"] if len(modes) > 1 else [])
    rows = []
    for d in doc["decisions"]:
        row = [
            d["model"],
            d["target"],
            d["verdict"],
            f"{d['compatible_devices']}/{d['measured_devices']}",
            pct(d["deployable_device_model_share"]),
            pct(d["deployable_session_share"]),
            pct(d["eligible_device_share"]),
        ]
        for m in modes:
            fig = d["modes"].get(m)
            row.append(spread_text(fig["hours_to_target"], "", fig["trials"]) if fig else "not simulated")
        if len(modes) > 1:
            row.append("not available" if d["fedbuff_speedup"] is None else f"{d['fedbuff_speedup']:.2f}×")
        rows.append(row)
    return columns, rows


DETAIL_COLUMNS = ["model", "target", "mode", "tasks started / succeeded", "device-hours", "updates/s (peak hour)",
                  "MB/s (peak hour)", "metric gap to centralized", "money"]  # fmt: skip


def detail_rows(doc: dict[str, Any]) -> list[list[str]]:
    rows = []
    for d in doc["decisions"]:
        money = d["money"]
        for mode, f in d["modes"].items():
            cost = "not available"
            if money is not None:
                parts = [f"farm {money['farm']:.2f}"] if money["farm"] is not None else []
                agg = money["aggregator"].get(mode)
                if agg is not None and agg["median"] is not None:
                    parts.append(f"aggregator {agg['median']:.4g}")
                cost = f"{money['currency']} " + ", ".join(parts) if parts else "not available"
            rows.append(
                [
                    d["model"],
                    d["target"],
                    mode,
                    f"{num(f['tasks_started']['median'], '.0f')} / {num(f['tasks_succeeded']['median'], '.0f')}",
                    spread_text(f["device_hours"]),
                    f"{num(f['updates_per_s']['median'])} ({num(f['peak_updates_per_s']['median'])})",
                    f"{num(f['mb_per_s']['median'])} ({num(f['peak_mb_per_s']['median'])})",
                    f"{f['metric_name']} {spread_text(f['metric_gap'])}",
                    cost,
                ]
            )
    return rows


def coverage_line(doc: dict[str, Any]) -> str:
    cov = doc["coverage"]
    shares = ", ".join(f"{k} {pct(v)}" for k, v in cov["session_share"].items())
    text = f"Coverage of the log's {cov['sessions']} sessions by the {len(cov['measured_devices'])} measured devices: {shares}."
    return text + (f" Warning: {cov['warning']}" if cov.get("warning") else "")


def coverage_rows(doc: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Coverage per platform x tier, as the coverage mapping gives it: its plain fields, then each
    share table (devices, sessions) by match kind."""
    groups = doc["coverage"].get("by_group") or []
    plain = list(dict.fromkeys(k for g in groups for k, v in g.items() if not isinstance(v, dict)))
    shares = list(dict.fromkeys((k, kind) for g in groups for k, v in g.items() if isinstance(v, dict) for kind in v))
    columns = plain + [f"{k} {kind}" for k, kind in shares]
    rows = [[str(g.get(k, "")) for k in plain] + [pct((g.get(k) or {}).get(kind)) for k, kind in shares] for g in groups]
    return columns, rows


def decision_section(doc: dict[str, Any]) -> dict[str, Any]:
    """What the report's decision section shows."""
    columns, rows = table_rows(doc)
    cov_columns, cov_rows = coverage_rows(doc)
    return {
        "doc": doc,
        "columns": columns,
        "rows": rows,
        "detail_columns": DETAIL_COLUMNS,
        "detail": detail_rows(doc),
        "coverage_line": coverage_line(doc),
        "coverage_columns": cov_columns,
        "coverage_rows": cov_rows,
    }
