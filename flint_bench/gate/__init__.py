"""The CI gate for model PRs: budgets on the head results and significant regressions against the
base. regression.py holds the statistical tests, checks.py the verdicts per model x device x
metric (pure), outputs.py the Markdown, JUnit XML and github-action-benchmark outputs, run.py the
folders in and files out. The budgets themselves are flint_bench.budgets. The CLI is cli/gate.py."""

from .checks import METRICS, CaseResult, GateResult, evaluate, pool_rounds
from .outputs import benchmark_json, junit_xml, markdown, md_cell
from .regression import GateSettings, SampleRegression, ScalarRegression, Verdict
from .run import GateRun, run_gate, write_outputs

__all__ = [
    "METRICS",
    "CaseResult",
    "GateResult",
    "GateRun",
    "GateSettings",
    "SampleRegression",
    "ScalarRegression",
    "Verdict",
    "benchmark_json",
    "evaluate",
    "junit_xml",
    "markdown",
    "md_cell",
    "pool_rounds",
    "run_gate",
    "write_outputs",
]
