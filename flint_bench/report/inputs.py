"""The report's inputs read from disk (results, budgets, profiles, eligibility, simulation) into
the template context. Every unreadable input is a UserError naming the file and the command that
writes it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.errors import UserError
from ..core.fileio import read_json
from ..core.records import RecordError

if TYPE_CHECKING:
    import pandas as pd


def read_eligibility(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise UserError(f"{path}: eligibility file not found. Write it with `flint-bench eligibility --format json > {path}`.")
    doc = read_json(path, "eligibility file")
    if not isinstance(doc, dict) or not isinstance(doc.get("criteria"), list):
        raise UserError(
            f"{path}: not an eligibility result (no 'criteria' list); expected the output of "
            "`flint-bench eligibility --format json`."
        )
    return doc


def read_decision(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise UserError(f"{path}: decision file not found. Write it with `flint-bench assess --out DIR` (DIR/decision.json).")
    doc = read_json(path, "decision file")
    if not isinstance(doc, dict) or doc.get("schema") != "flint-bench/decision" or not isinstance(doc.get("decisions"), list):
        raise UserError(
            f"{path}: not a decision of `flint-bench assess` (no schema 'flint-bench/decision' with a 'decisions' list)."
        )
    return doc


def read_simulation(path: Path) -> tuple[dict[str, Any] | None, pd.DataFrame | None]:
    """A simulate --out folder (summary.json, metrics.parquet), or a summary JSON file itself."""
    import pandas as pd

    if not path.exists():
        raise UserError(f"{path}: simulation output not found. Write it with `flint-bench simulate --out {path}`.")
    folder = path if path.is_dir() else path.parent
    summary_file = path if path.is_file() else path / "summary.json"
    summary = None
    if summary_file.is_file():
        summary = read_json(summary_file, "simulation summary")
        if not isinstance(summary, dict):
            raise UserError(
                f"{summary_file}: not a simulation summary (a JSON object); pass the folder written by `flint-bench simulate --out`."
            )
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


def make_context(
    results: Path,
    *,
    profiles: Path | None = None,
    eligibility: Path | None = None,
    simulation: Path | None = None,
    budgets: Path | None = None,
    targets: list[str] | None = None,
    decision: Path | None = None,
) -> dict[str, Any]:
    from .. import __version__
    from ..budgets import load_budgets
    from ..core.results import load_records
    from ..gate import pool_rounds
    from ..profiles import read_profiles
    from .build import build

    records = pool_rounds(load_records(results))  # rounds of one model x device (CI alternation) count once
    if not records:
        raise UserError(f"{results}: no result records in this folder. Run `flint-bench run --out {results}` first.")
    b = load_budgets(budgets)
    sim_summary, sim_curves = read_simulation(simulation) if simulation else (None, None)
    try:  # a hand-edited or foreign record (e.g. timing lists of different lengths) is the user's to fix
        return build(
            records,
            b.select(targets),
            budgets_source=b.source,
            profiles=read_profiles(profiles) if profiles else None,
            eligibility=read_eligibility(eligibility) if eligibility else None,
            sim_summary=sim_summary,
            sim_curves=sim_curves,
            decision=read_decision(decision) if decision else None,
            inputs={
                "results": str(results),
                "profiles": str(profiles) if profiles else None,
                "eligibility": str(eligibility) if eligibility else None,
                "simulation": str(simulation) if simulation else None,
                "decision": str(decision) if decision else None,
                "budgets": b.source,
            },
            generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            tool_version=__version__,
        )
    except RecordError as e:
        raise UserError(str(e)) from None
