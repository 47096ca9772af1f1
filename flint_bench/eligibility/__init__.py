"""Session logs, eligibility rules (the paper's Table 1 funnel), fairness checks and availability traces."""

from .funnel import ALL, CompatLookup, Funnel, SessionTable, availability_traces, criterion_mask, evaluate
from .rules import CompatRef, Criterion, Fairness, RuleSet, load_rules, rules_from_dict
from .schema import COLUMNS, DERIVED, normalise, read_sessions

__all__ = [
    "ALL",
    "COLUMNS",
    "DERIVED",
    "CompatLookup",
    "CompatRef",
    "Criterion",
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
]
