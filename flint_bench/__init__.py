"""flint-bench: on-device training benchmarks, device farms, eligibility rules and an FL simulator."""

__version__ = "0.1.0"
