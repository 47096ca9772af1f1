"""`flint-bench assess`: from a model to a decision. The stages (benchmark, profiles, compat, sessions,
coverage, eligibility, simulation, forecast, decision) are cached by a hash of their inputs."""

from .config import AssessConfig, load_config
from .workflow import Assessment, run_assess

__all__ = ["AssessConfig", "Assessment", "load_config", "run_assess"]
