"""The assess config: one TOML naming the models, farm, budgets, rules, sessions, simulator settings,
targets, modes, trials and cost rates. Paths are relative to the config file. Every key is checked
when the file is loaded (the simulator's tables too), so a typo fails before any stage runs."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..core.config import Annotated, Fraction, Ge, Le, MinLen, NonNegativeFloat, from_dict, read_toml
from ..core.errors import ConfigError

Mode = Literal["fedavg", "fedbuff"]
# the simulator tables an assess config may set; model, mode, trials, target and the population's
# profiles and trace are the workflow's, so they are not the user's to set here
SIM_TABLES = ("sim", "fedavg", "fedbuff", "proxy", "population")
SIM_OWNED = {"sim": ("model", "mode", "trials", "target_metric"), "population": ("profiles", "classes")}


@dataclass
class Benchmark:
    farm: str | None = None  # farm file; None: farm_configs/local.toml, else this machine as one device
    results: str | None = None  # reuse this results folder instead of benchmarking
    examples: Annotated[int, Ge(1), Le(10_000_000)] | None = None  # None: the farm file's [run]
    repeats: Annotated[int, Ge(1), Le(1000)] | None = None
    warmup_steps: Annotated[int, Ge(0), Le(1_000_000)] | None = None


@dataclass
class Sessions:
    file: str | None = None  # a session log (.parquet/.csv); None: a synthetic log of these settings
    devices: Annotated[int, Ge(1), Le(10_000_000)] = 2000
    days: Annotated[int, Ge(1), Le(60)] = 2
    seed: Annotated[int, Ge(0), Le(2**32 - 1)] = 0


@dataclass
class Cost:
    currency: str = "USD"
    farm_device_hour: NonNegativeFloat | None = None  # per device-hour of farm time (benchmarking)
    aggregator_gb: NonNegativeFloat | None = None  # per GB of updates received at the aggregator


@dataclass
class DecisionRules:
    # needs-measurement when more of the sessions than this run on devices no measurement stands for
    max_unmeasured_session_share: Fraction = 0.25


@dataclass
class AssessConfig:
    models: Annotated[list[str], MinLen(1)]
    rules: str
    budgets: str | None = None  # None: the paper's defaults (third_party < 1 MB, first_party < 10 MB)
    targets: list[str] | None = None  # None: every target of the budgets
    mapping: str | None = None  # device mapping file (CSV/TOML) for the coverage join
    modes: Annotated[list[Mode], MinLen(1)] = field(default_factory=lambda: ["fedavg", "fedbuff"])
    trials: Annotated[int, Ge(1), Le(1000)] = 3
    target_metric: dict[str, float] = field(default_factory=dict)  # per model; none: no time to target
    benchmark: Benchmark = field(default_factory=Benchmark)
    sessions: Sessions = field(default_factory=Sessions)
    simulator: dict[str, dict[str, Any]] = field(default_factory=dict)
    cost: Cost = field(default_factory=Cost)
    decision: DecisionRules = field(default_factory=DecisionRules)
    file: str = field(default="assess.toml", init=False)  # set by load_config, as is the folder
    folder: Path = field(default_factory=Path, init=False)

    def path(self, value: str | None) -> Path | None:
        """A path of the config, relative to the config file's folder."""
        return None if value is None else (self.folder / value)

    def validate(self, file: str, prefix: str) -> None:
        for table, keys in self.simulator.items():
            if table not in SIM_TABLES:
                raise ConfigError(file, f"simulator.{table}", f"unknown table; allowed tables are {list(SIM_TABLES)}")
            for key in SIM_OWNED.get(table, ()):
                if key in keys:
                    raise ConfigError(file, f"simulator.{table}.{key}", "set by assess (models, modes, trials, target_metric)")
        for model in self.target_metric:
            if model not in self.models:
                raise ConfigError(file, f"target_metric.{model}", f"not one of the models {self.models}")
        for model in self.models:
            for mode in self.modes:  # the simulator's own checks, with the key under [simulator]
                sim_raw(self, model, mode, Path("profiles.parquet"), None, file)

    def section(self, *names: str) -> dict[str, Any]:
        """The config values a stage depends on, JSON-able, for its cache key."""
        return {n: _jsonable(getattr(self, n)) for n in names}


def _jsonable(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        return {k: _jsonable(getattr(value, k)) for k in value.__dataclass_fields__}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)


def sim_raw(
    cfg: AssessConfig, model: str, mode: Mode, profiles: Path, trace: Path | None, file: str | None = None
) -> dict[str, Any]:
    """The simulator config of one model and mode: the [simulator] tables plus the workflow's keys.
    A simulator error names the key under [simulator] of the assess file."""
    from ..simulator.config import parse

    raw = copy.deepcopy(cfg.simulator)
    raw.setdefault("sim", {}).update(model=model, mode=mode, trials=cfg.trials, target_metric=cfg.target_metric.get(model))
    population = raw.setdefault("population", {})
    population["profiles"] = str(profiles)
    if trace is not None:
        population.setdefault("availability", {})["trace"] = str(trace)
    try:
        parse(raw, file or cfg.file)
    except ConfigError as e:
        raise ConfigError(e.file, f"simulator.{e.key}", e.problem) from None
    return raw


def load_config(path: str | Path) -> AssessConfig:
    path = Path(path)
    cfg = from_dict(AssessConfig, read_toml(path), path)
    cfg.file, cfg.folder = str(path), path.parent
    return cfg
