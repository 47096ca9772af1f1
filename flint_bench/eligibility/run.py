"""`flint-bench eligibility` as a library call: read the rules, the session log and (for compat
criteria) the profiles and budgets, evaluate the funnel, and write the availability traces."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.errors import UserError
from ..coverage import ATTRIBUTE_COLUMNS
from .availability import availability_traces, check_table_path, write_traces
from .criteria import CompatLookup
from .funnel import Funnel, evaluate
from .rules import RuleSet, load_rules
from .schema import read_sessions

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class EligibilityRun:
    funnel: Funnel
    document: dict[str, Any]  # the command's JSON document


def compat_lookup(ruleset: RuleSet, profiles: pd.DataFrame | None, budgets: Path | None) -> CompatLookup | None:
    """The profiles and budgets the rules' compat criteria need (None when there is none)."""
    from ..budgets import load_budgets

    if not any(c.compat for c in ruleset.criteria):
        return None
    budgets_path = budgets or ruleset.budgets_path()
    if profiles is None or budgets_path is None:
        names = [c.name for c in ruleset.criteria if c.compat]
        raise UserError(
            f"{ruleset.source}: criteria {names} check compatibility with benchmarks: pass --profiles FILE "
            '(from `flint-bench profiles build`) and a budgets file (--budgets FILE or `budgets = "..."` in the rules).'
        )
    return CompatLookup(profiles, load_budgets(budgets_path))


def run_eligibility(
    sessions: Path,
    rules: Path,
    *,
    profiles: Path | None = None,
    budgets: Path | None = None,
    traces_out: Path | None = None,
    device_map: Path | None = None,
) -> EligibilityRun:
    """The funnel document; with profiles, also the device mapping's coverage (`coverage`,
    `device_mapping`) and `warnings` (no device maps to a measured one, a compat criterion matches
    none): the CLI prints them and exits 1 on one with --strict."""
    from ..coverage import load_mapping, map_devices
    from ..profiles import read_profiles

    if traces_out is not None:
        check_table_path(traces_out, "--traces-out")
    ruleset = load_rules(rules)
    mapping_file = load_mapping(device_map) if device_map is not None else None
    profile_frame = read_profiles(profiles) if profiles is not None else None
    compat = compat_lookup(ruleset, profile_frame, budgets)
    fields, optional = ruleset.fields(), ruleset.optional_fields()
    if profile_frame is not None:  # the coverage joins the log's devices to the measured ones
        fields, optional = fields | {"device_model", "platform", "os_version"}, optional | set(ATTRIBUTE_COLUMNS)
    frame = read_sessions(sessions, fields, optional)
    mapping = map_devices(frame, profile_frame, mapping_file) if profile_frame is not None else None
    if compat is not None:
        compat.mapping = mapping
    t0 = time.perf_counter()
    funnel = evaluate(frame, ruleset, compat)
    seconds = time.perf_counter() - t0
    doc = funnel.to_dict() | {"sessions_file": str(sessions), "rules_file": str(rules), "evaluate_seconds": round(seconds, 4)}
    if "log_start" in frame.attrs:
        doc["log_start"] = frame.attrs["log_start"]
    warnings: list[str] = []
    if mapping is not None:
        coverage = mapping.coverage()
        doc["coverage"] = coverage.as_dict()
        doc["device_mapping"] = json.loads(mapping.table.to_json(orient="records"))
        warnings += [w for w in [coverage.warning()] if w]
    doc["warnings"] = warnings + (compat.warnings if compat is not None else [])
    if traces_out is not None:
        doc["traces"] = write_traces(availability_traces(frame, funnel.eligible_rows), traces_out)
    return EligibilityRun(funnel, doc)
