"""Read the report's inputs and render them: one self-contained HTML file (jinja2 autoescape,
inline CSS and SVG, no script, no external URL) or Markdown."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..core.errors import UserError


def _env(autoescape: bool):
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("flint_bench.report", "templates"),
        autoescape=autoescape,
        # lenient: eligibility and simulator inputs come from other tools and may lack a key
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["md"] = md_escape
    return env


def md_escape(value: Any) -> str:
    """Markdown table cells: user text must not turn into tables, links or raw HTML."""
    from ..gate.outputs import md_cell

    return md_cell(value).replace("[", "\\[").replace("]", "\\]").replace("*", "\\*").replace("_", "\\_").replace("`", "\\`")


def read_eligibility(path: Path) -> dict:
    if not path.is_file():
        raise UserError(f"{path}: eligibility file not found. Write it with `flint-bench eligibility --format json > {path}`.")
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise UserError(
            f"{path}: not valid JSON ({e}); expected the output of `flint-bench eligibility --format json`."
        ) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("criteria"), list):
        raise UserError(
            f"{path}: not an eligibility result (no 'criteria' list); expected the output of `flint-bench eligibility --format json`."
        )
    return doc


def read_simulation(path: Path) -> tuple[dict | None, Any]:
    """A simulate --out folder (summary.json, metrics.parquet), or a summary JSON file itself."""
    import pandas as pd

    folder = path if path.is_dir() else path.parent
    summary_file = path if path.is_file() else path / "summary.json"
    if not path.exists():
        raise UserError(f"{path}: simulation output not found. Write it with `flint-bench simulate --out {path}`.")
    summary = None
    if summary_file.is_file():
        try:
            summary = json.loads(summary_file.read_text())
        except json.JSONDecodeError as e:
            raise UserError(f"{summary_file}: not valid JSON ({e}).") from None
    curves_file = folder / "metrics.parquet"
    curves = None
    if curves_file.is_file():
        try:
            curves = pd.read_parquet(curves_file)
        except Exception as e:  # pyarrow raises several types for a bad file
            raise UserError(f"{curves_file}: not a readable Parquet file ({e}).") from None
    if summary is None and curves is None:
        raise UserError(f"{path}: no summary.json or metrics.parquet; pass the folder written by `flint-bench simulate --out`.")
    return summary, curves


def read_profiles(path: Path):
    import pandas as pd

    if not path.is_file():
        raise UserError(f"{path}: device profiles file not found. Build it with `flint-bench profiles`.")
    try:
        return pd.read_parquet(path)
    except Exception as e:
        raise UserError(f"{path}: not a readable Parquet file ({e}).") from None


def make_context(
    results: Path,
    *,
    profiles: Path | None = None,
    eligibility: Path | None = None,
    simulation: Path | None = None,
    budgets: Path | None = None,
    targets: list[str] | None = None,
) -> dict:
    from .. import __version__
    from ..core.results import load_records
    from ..gate.budgets import load_budgets
    from ..gate.checks import pool_rounds
    from .build import build

    records = pool_rounds(load_records(results))  # rounds of one model x device (CI alternation) count once
    if not records:
        raise UserError(f"{results}: no result records in this folder. Run `flint-bench run --out {results}` first.")
    b = load_budgets(budgets)
    sim_summary, sim_curves = read_simulation(simulation) if simulation else (None, None)
    return build(
        records,
        b.select(targets),
        budgets_source=b.source,
        profiles=read_profiles(profiles) if profiles else None,
        eligibility=read_eligibility(eligibility) if eligibility else None,
        sim_summary=sim_summary,
        sim_curves=sim_curves,
        inputs={
            "results": str(results),
            "profiles": profiles and str(profiles),
            "eligibility": eligibility and str(eligibility),
            "simulation": simulation and str(simulation),
            "budgets": b.source,
        },
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        tool_version=__version__,
    )


def render_html(context: dict) -> str:
    return _env(autoescape=True).get_template("report.html.j2").render(**context)


def render_markdown(context: dict) -> str:
    return _env(autoescape=False).get_template("report.md.j2").render(**context)
