"""The CI gate for model PRs: budgets on the head results and significant regressions against the
base (checks.py, pure), budgets shared with the eligibility rules (budgets.py), and the Markdown,
JUnit XML and github-action-benchmark outputs (outputs.py). The CLI is flint_bench/cli/gate.py."""
