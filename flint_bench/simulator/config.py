"""Simulator config: one TOML file parsed into dataclasses (errors name the file and the dotted key).

```toml
[sim]           model, mode (fedavg|fedbuff), trials, seed, target / budget, learning rates
[fedavg]        cohort, overcommit, round_deadline_s
[fedbuff]       concurrency, buffer, max_staleness
[proxy]         clients, quantity statistics, Dirichlet label skew
[population]    compute classes (share + time distribution) or a profiles Parquet, bandwidth, availability
[privacy.dp]    noise_multiplier, clip_norm, delta, mode (central|local)   (docs/simulator-privacy.md)
[privacy.secagg] protocol (bonawitz|bell|tee), threshold, bits, rtt_s, prg_bytes_per_s
[sweep]         dotted key -> list of values (only for `simulate --sweep`)
```
"""

from __future__ import annotations

import copy
import itertools
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from ..core.config import (
    Annotated,
    Ge,
    Gt,
    Le,
    Lt,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    from_dict,
)
from ..core.errors import ConfigError
from .privacy.settings import Privacy


@dataclass
class TimeDist:
    """A per-example training-time distribution in seconds (lognormal by median and sigma, or constant)."""

    dist: Literal["lognormal", "constant"] = "lognormal"
    median: Annotated[float, Gt(0), Le(86_400)] = 0.001  # at most a day per example
    sigma: Annotated[float, Ge(0), Le(10)] = 0.5


@dataclass
class ComputeClass:
    """A share of the population with one training-time distribution (`[[population.classes]]`)."""

    name: str
    share: Annotated[float, Gt(0), Le(1e9)] = 1.0  # a relative weight of this class in the device mix
    per_example_s: TimeDist = field(default_factory=TimeDist)
    memory_mb: PositiveFloat | None = None  # echoed in summary.json's config; the simulator does not model memory


@dataclass
class Availability:
    """Sessions when a device may train. A trace file (device_id,start,end seconds), else synthetic diurnal."""

    trace: str | None = None
    # which proxy client carries each trace device's sessions (docs/simulator.md, "Trace devices and
    # proxy clients"); "fold" is the behaviour from before this was a choice
    trace_to_clients: Literal["fold", "one-to-one", "sample"] = "fold"
    # at least one check-in per device in ~2700 years (smaller rates underflow), at most one a minute
    checkins_per_device_per_day: Annotated[float, Ge(1e-6), Le(1440)] = 1.0
    mean_session_minutes: Annotated[float, Gt(0), Le(525_600)] = 30.0  # at most a year
    # the paper's Figure 2: daily troughs at ~15% of the weekly peak
    trough_fraction: Annotated[float, Gt(0), Le(1)] = 0.15
    peak_hour: Annotated[float, Ge(0), Lt(24)] = 20.0
    always: bool = False  # every device available all the time (for controlled experiments)


@dataclass
class Population:
    classes: list[ComputeClass] = field(default_factory=lambda: [ComputeClass(name="default")])
    profiles: str | None = None  # Parquet from `flint-bench profiles build`; overrides `classes`
    # user device model or pattern -> measured device (CSV or TOML), the coverage mapping's explicit step
    device_mapping: str | None = None
    bandwidth: str = "builtin"  # "builtin" (flint_bench/data/bandwidth.toml), a number in Mbit/s, or a CSV of samples
    availability: Availability = field(default_factory=Availability)

    def validate(self, file: str, prefix: str) -> None:
        if not self.classes and not self.profiles:
            raise ConfigError(file, prefix + "classes", "give at least one device class or a profiles file")
        bandwidth_mbit(self.bandwidth, file, prefix + "bandwidth")
        if self.device_mapping and not (self.profiles and self.availability.trace):
            raise ConfigError(
                file,
                prefix + "device_mapping",
                "maps a trace's device models to measured profiles: it needs population.profiles and population.availability.trace",
            )


def bandwidth_mbit(spec: str, file: str, key: str = "population.bandwidth") -> float | None:
    """`population.bandwidth` as a constant in Mbit/s (finite, > 0), or None when it is 'builtin' or a CSV path."""
    try:
        value = float(spec)
    except ValueError:
        return None
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(file, key, f"a constant bandwidth must be a finite number of Mbit/s > 0, got {spec!r}")
    return value


@dataclass
class Proxy:
    clients: Annotated[int, Ge(1), Le(100_000_000)] = 1000
    mean_records: float = 1.53  # between min_records and max_records (validate)
    std_records: Annotated[float, Ge(0), Le(1e9)] = 1.47
    max_records: Annotated[int, Ge(1), Le(1_000_000_000)] = 406
    min_records: PositiveInt = 1  # every client holds a record: FedAvg weighs clients by their records
    # Dirichlet label skew (binary tasks; smaller = more skew); None = IID labels
    label_alpha: Annotated[float, Gt(0), Le(1e6)] | None = None
    holdout: Annotated[int, Ge(1), Le(10_000_000)] = 2000  # held-out records the metric is computed on
    version: NonNegativeInt = 0  # proxy version: a different seed gives another partition of the same population
    # A real dataset partitioned by its id field instead of synthetic skew: an .npz with input_0..input_k
    # in the model's make_data order (the benchmark contract's data format) and an array `id_field`;
    # a path relative to the config file. clients / mean / std / max are then read off the ids.
    dataset: str | None = None
    id_field: str = "client_id"
    # binary tasks: the share of positive records (Table 2's "label ratio"); None = the model generator's own
    label_ratio: Annotated[float, Gt(0), Lt(1)] | None = None
    # "memory": every record built up front in one set of tensors; "lazy": each client's records generated
    # from (seed, client id) when it trains, in the executor that owns it (16M-client populations)
    storage: Literal["memory", "lazy"] = "memory"

    def validate(self, file: str, prefix: str) -> None:
        if self.mean_records < self.min_records or self.max_records < self.mean_records:
            raise ConfigError(file, prefix + "mean_records", "must lie between min_records and max_records")


@dataclass
class FedAvg:
    cohort: Annotated[int, Ge(1), Le(10_000_000)] = 20
    overcommit: Annotated[float, Ge(1), Le(100)] = 1.3  # 1.3 selects 30% more clients than the cohort
    round_deadline_s: PositiveFloat | None = None


@dataclass
class FedBuff:
    concurrency: Annotated[int, Ge(1), Le(10_000_000)] = 50
    buffer: PositiveInt = 10
    max_staleness: Annotated[int, Ge(0), Le(1_000_000)] = 10
    task_timeout_s: PositiveFloat | None = None  # abort tasks running longer (frees their slot); None = never

    def validate(self, file: str, prefix: str) -> None:
        if self.buffer > self.concurrency:
            raise ConfigError(
                file,
                prefix + "buffer",
                f"buffer size {self.buffer} is larger than concurrency {self.concurrency}; "
                "the buffer could never fill. Lower fedbuff.buffer or raise fedbuff.concurrency",
            )


@dataclass
class Sim:
    model: str
    mode: Literal["fedavg", "fedbuff"] = "fedavg"
    trials: Annotated[int, Ge(1), Le(100_000)] = 1
    seed: Annotated[int, Ge(0), Le(2**32 - 1)] = 0  # numpy's seed sequences take no negative seed
    target_metric: float | None = None
    time_budget_hours: Annotated[float, Gt(0), Le(87_600)] | None = None  # at most ten years
    max_aggregations: Annotated[int, Ge(1), Le(100_000_000)] = 100
    eval_every: PositiveInt = 5
    local_epochs: Annotated[int, Ge(1), Le(100_000)] = 1
    client_lr: PositiveFloat | None = None  # default: the model's lr
    client_batch_size: NonNegativeInt | None = None  # default: the model's batch size; 0 = full batch
    server_lr: PositiveFloat = 1.0
    lr_schedule: Literal["constant", "cosine", "step"] = "constant"
    lr_step_every: PositiveInt = 50
    lr_step_gamma: Annotated[float, Gt(0), Le(1)] = 0.5
    centralized_epochs: Annotated[int, Ge(0), Le(100_000)] = 1  # the centralized baseline on the pooled proxy data; 0 skips it
    train: bool = True  # False: system metrics only (no model training)
    # clients trained together through torch.func.vmap; 0 = one model in place, one client at a time
    train_chunk: NonNegativeInt = 64
    # executors training an aggregation's work units in parallel: 1 = in this process; N = this process and N - 1 worker processes (one per core)
    executors: Annotated[int, Ge(1), Le(1024)] = 1
    # with --out: a checkpoint every `checkpoint_every_s` wall seconds, at the end of each trial, and when the
    # run is interrupted (Ctrl-C / SIGTERM: after the aggregation in flight, so a restart loses at most one round);
    # `checkpoint_every` aggregations instead, when set
    checkpoint_every: PositiveInt | None = None
    checkpoint_every_s: Annotated[float, Gt(0), Le(86_400)] = 30.0


@dataclass
class SimConfig:
    sim: Sim
    fedavg: FedAvg = field(default_factory=FedAvg)
    fedbuff: FedBuff = field(default_factory=FedBuff)
    proxy: Proxy = field(default_factory=Proxy)
    population: Population = field(default_factory=Population)
    privacy: Privacy = field(default_factory=Privacy)  # DP and SecAgg, both off unless their tables are given
    sweep: dict[str, list[Any]] = field(default_factory=dict)
    file: str = field(default="<dict>", compare=False, init=False)  # set by parse(); not a key of the TOML

    def validate(self, file: str, prefix: str) -> None:
        avail = self.population.availability
        trace_sets_clients = bool(avail.trace) and avail.trace_to_clients == "one-to-one"
        if (
            self.proxy.dataset is None
            and not trace_sets_clients  # checked once the trace is read (strategies.check_clients)
            and self.sim.mode == "fedavg"
            and math.ceil(self.fedavg.cohort * self.fedavg.overcommit - 1e-9) > self.proxy.clients
        ):
            raise ConfigError(
                file,
                prefix + "fedavg.cohort",
                f"cohort x overcommit selects more devices than proxy.clients = {self.proxy.clients} in one round; "
                "lower fedavg.cohort / fedavg.overcommit or raise proxy.clients",
            )

    def echo(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("file")
        return d


SECTIONS = {f.name for f in fields(SimConfig)} - {"file"}


def parse(data: dict[str, Any], file: str | Path = "<dict>") -> SimConfig:
    data = dict(data)
    data.pop("file", None)
    cfg = from_dict(SimConfig, data, file)
    cfg.file = str(file)
    return cfg


def with_overrides(data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of a raw config table with dotted keys ('fedbuff.buffer') set."""
    data = copy.deepcopy(data)
    for dotted, value in overrides.items():
        node = data
        *parents, leaf = dotted.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return data


def sweep_grid(data: dict[str, Any], file: str | Path) -> list[dict[str, Any]]:
    """The grid of `[sweep]` (dotted key -> values): every combination as a dict of overrides."""
    grid = data.get("sweep") or {}
    if not grid:
        raise ConfigError(str(file), "sweep", '--sweep needs a [sweep] table, e.g. "fedbuff.buffer" = [5, 10, 20]')
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(str(file), f"sweep.{key}", "must be a non-empty list of values")
        if key.split(".")[0] not in SECTIONS - {"sweep"}:
            raise ConfigError(str(file), f"sweep.{key}", f"must be a dotted key inside one of {sorted(SECTIONS - {'sweep'})}")
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(grid[k] for k in keys))]
