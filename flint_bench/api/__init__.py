"""The Python API: what each CLI command does, as a function for notebooks and scripts.

    from flint_bench import api
    result = api.run(models=["A"], examples=200, out="results")
    result.summary                      # Table 5 as a pandas DataFrame
    profiles = api.profiles("results")  # device profiles DataFrame

Each function takes paths (or config objects) and returns a dataclass or a DataFrame; bad input
raises flint_bench.core.errors.UserError with the one-paragraph message the CLI prints. The CLI
commands are thin wrappers over these functions. `mlflow=True` also records the call as an MLflow
run (tracking URI from MLFLOW_TRACKING_URI; the `mlflow` extra).
"""

from __future__ import annotations

from .analysis import GateFiles, assess, eligibility, gate, log_simulation, log_sweep, metrics_frame, report, simulate
from .bench import CompatResult, ProfilesResult, RunResult, compat, log_run, profiles, run, run_settings

__all__ = [
    "CompatResult",
    "GateFiles",
    "ProfilesResult",
    "RunResult",
    "assess",
    "compat",
    "eligibility",
    "gate",
    "log_run",
    "log_simulation",
    "log_sweep",
    "metrics_frame",
    "profiles",
    "report",
    "run",
    "run_settings",
    "simulate",
]
