"""Session logs, eligibility rules (the paper's Table 1 funnel), fairness checks and availability traces."""

from .availability import availability_traces, write_traces
from .criteria import CompatLookup, criterion_mask
from .funnel import ALL, Funnel, evaluate
from .rules import CompatRef, Criterion, Fairness, RuleSet, load_rules, rules_from_dict
from .run import EligibilityRun, run_eligibility
from .schema import COLUMNS, DERIVED, normalise, read_sessions
from .table import SessionTable

__all__ = [
    "ALL",
    "COLUMNS",
    "DERIVED",
    "CompatLookup",
    "CompatRef",
    "Criterion",
    "EligibilityRun",
    "Fairness",
    "Funnel",
    "RuleSet",
    "SessionTable",
    "availability_traces",
    "criterion_mask",
    "evaluate",
    "load_rules",
    "normalise",
    "read_sessions",
    "rules_from_dict",
    "run_eligibility",
    "write_traces",
]
