"""`flint-bench eligibility` as a library call: read the rules, the session log and (for compat
criteria) the profiles and budgets, evaluate the funnel, and write the availability traces."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.errors import UserError
from .availability import availability_traces, check_table_path, write_traces
from .criteria import CompatLookup
from .funnel import Funnel, evaluate
from .rules import RuleSet, load_rules
from .schema import read_sessions


@dataclass
class EligibilityRun:
    funnel: Funnel
    document: dict[str, Any]  # the command's JSON document


def compat_lookup(ruleset: RuleSet, profiles: Path | None, budgets: Path | None) -> CompatLookup | None:
    """The profiles and budgets the rules' compat criteria need (None when there is none)."""
    from ..budgets import load_budgets
    from ..profiles import read_profiles

    if not any(c.compat for c in ruleset.criteria):
        return None
    budgets_path = budgets or ruleset.budgets_path()
    if profiles is None or budgets_path is None:
        names = [c.name for c in ruleset.criteria if c.compat]
        raise UserError(
            f"{ruleset.source}: criteria {names} check compatibility with benchmarks: pass --profiles FILE "
            '(from `flint-bench profiles build`) and a budgets file (--budgets FILE or `budgets = "..."` in the rules).'
        )
    return CompatLookup(read_profiles(profiles), load_budgets(budgets_path))


def run_eligibility(
    sessions: Path,
    rules: Path,
    *,
    profiles: Path | None = None,
    budgets: Path | None = None,
    traces_out: Path | None = None,
) -> EligibilityRun:
    if traces_out is not None:
        check_table_path(traces_out, "--traces-out")
    ruleset = load_rules(rules)
    compat = compat_lookup(ruleset, profiles, budgets)
    frame = read_sessions(sessions, ruleset.fields(), ruleset.optional_fields())
    t0 = time.perf_counter()
    funnel = evaluate(frame, ruleset, compat)
    seconds = time.perf_counter() - t0
    doc = funnel.to_dict() | {"sessions_file": str(sessions), "rules_file": str(rules), "evaluate_seconds": round(seconds, 4)}
    if "log_start" in frame.attrs:
        doc["log_start"] = frame.attrs["log_start"]
    if traces_out is not None:
        doc["traces"] = write_traces(availability_traces(frame, funnel.eligible_rows), traces_out)
    return EligibilityRun(funnel, doc)
