"""Device profiles: result records aggregated per device model x OS x ML model (build.py). The
budgets they are checked against, and the check (`check_compat`), live in flint_bench.budgets."""

from .build import (
    COLUMNS,
    build_profiles,
    profile_device_model,
    profiles_from_results,
    read_profiles,
    sample_per_example_seconds,
    write_profiles,
)

__all__ = [
    "COLUMNS",
    "build_profiles",
    "profile_device_model",
    "profiles_from_results",
    "read_profiles",
    "sample_per_example_seconds",
    "write_profiles",
]
