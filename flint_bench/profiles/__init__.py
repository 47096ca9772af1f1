"""Device profiles (per device model x OS x ML model), deployment budgets and compatibility."""

from .budgets import Budgets, Target, check_compat, load_budgets, task_seconds, version_at_least, version_tuple
from .build import build_profiles, per_example_samples, read_profiles, sample_per_example_seconds, write_profiles

__all__ = [
    "Budgets",
    "Target",
    "build_profiles",
    "check_compat",
    "load_budgets",
    "per_example_samples",
    "read_profiles",
    "sample_per_example_seconds",
    "task_seconds",
    "version_at_least",
    "version_tuple",
    "write_profiles",
]
