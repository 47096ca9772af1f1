"""The report's content: result records (and optional profiles, eligibility, simulation) in, one
context dict out for the HTML and Markdown templates. Pure: no file access, no rendering."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..budgets import Target
from ..core.records import DeviceSection, Record
from .charts import device_table, figure4, resource_charts
from .compat import compatibility, deployability
from .decision import decision_section
from .sections import eligibility_section, profiles_section, simulation_section
from .svg import PALETTE
from .table5 import FIELD, table5
from .text import fmt, pct

if TYPE_CHECKING:
    import pandas as pd


def _unique(values: Any) -> list[str]:
    return sorted({str(v) for v in values if v is not None})


def provenance(records: list[Record], inputs: dict[str, str | None], generated: str, tool_version: str) -> dict[str, Any]:
    devices: dict[str, DeviceSection] = {}
    for r in records:
        devices.setdefault(r["device"]["id"], r["device"])
    started = [r["timestamps"]["started"] for r in records if r.get("timestamps")]
    finished = [r["timestamps"]["finished"] for r in records if r.get("timestamps")]
    bench = _unique(
        f"{b['examples']} examples, batch {b['batch_size']}, {b['repeats']} repeats, {b['warmup_steps']} warm-up steps, "
        f"{b.get('epochs', 1)} epoch(s)"
        for b in (r["benchmark"] for r in records)
    )
    return {
        "generated": generated,
        "report_tool": tool_version,
        "tool_versions": _unique(r["host"]["flint_bench_version"] for r in records if r.get("host")),
        "runtimes": _unique(f"{r['runtime']['name']} {r['runtime'].get('version') or ''}".strip() for r in records),
        "inference_runtimes": _unique(r["timing"].get("inference_runtime") for r in records),
        "farms": _unique(r["device"].get("farm") for r in records),
        "commits": _unique(r["host"]["commit"] for r in records if r.get("host")),
        "hosts": _unique(r["host"].get("hostname") for r in records if r.get("host")),
        "run_ids": _unique(r.get("run_id") for r in records),
        "started": min(started) if started else None,
        "finished": max(finished) if finished else None,
        "benchmark": bench,
        "artifacts": sorted(
            {(r["model"]["name"], r["model"].get("format"), (r["model"].get("artifact_sha256") or "")[:16]) for r in records}
        ),
        "devices": [devices[k] for k in sorted(devices)],
        "inputs": {k: v for k, v in inputs.items() if v},
    }


def build(
    records: list[Record],
    targets: dict[str, Target],
    *,
    budgets_source: str,
    profiles: pd.DataFrame | None = None,
    eligibility: dict[str, Any] | None = None,
    sim_summary: dict[str, Any] | None = None,
    sim_curves: pd.DataFrame | None = None,
    inputs: dict[str, str | None] | None = None,
    decision: dict[str, Any] | None = None,
    generated: str = "",
    tool_version: str = "",
) -> dict[str, Any]:
    models = sorted({r["model"]["name"] for r in records})
    colors = {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(models)}
    compat = compatibility(records, targets)
    t5 = table5(records)
    return {
        "title": "flint-bench device-compatibility report",
        "models": models,
        "colors": colors,
        "n_records": len(records),
        "n_failed": sum(r["status"] != "ok" for r in records),
        "devices": compat["devices"],
        "summary": deployability(compat, t5),
        "table5": t5,
        "table5_fields": FIELD,
        "figure4": figure4(records, colors),
        "resources": resource_charts(records, colors),
        "device_rows": device_table(records),
        "compat": compat,
        "budgets_source": budgets_source,
        "eligibility": eligibility_section(eligibility),
        "simulation": simulation_section(sim_summary, sim_curves),
        "decision": decision_section(decision) if decision else None,
        "profiles": profiles_section(profiles),
        "provenance": provenance(records, inputs or {}, generated, tool_version),
        "fmt": fmt,
        "pct": pct,
    }
