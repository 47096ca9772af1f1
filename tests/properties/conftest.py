"""Hypothesis settings for the property tests, and the count of examples they ran.

CI runs a fixed, reproducible number of examples: `derandomize=True` draws the same examples on
every run, `deadline=None` because a loaded 2-core runner makes timings noisy. HYPOTHESIS_PROFILE=dev
runs fewer for a quick local check.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from properties.gen import EXAMPLES

settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
settings.register_profile("dev", parent=settings.get_profile("ci"), max_examples=25)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if EXAMPLES:
        per_test = ", ".join(f"{name} {n}" for name, n in sorted(EXAMPLES.items()))
        terminalreporter.write_line(f"hypothesis examples run: {sum(EXAMPLES.values())} ({per_test})")
