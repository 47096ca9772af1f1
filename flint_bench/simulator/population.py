"""The device population: compute classes (per-example time distributions), bandwidth, availability sessions.

A *session* is a (device, start, end) window in which the device is eligible and checked in; each
session can carry one client task. Sessions come as a stream sorted by start, in numpy chunks, with
the task's duration (taskDuration) already sampled, so the scheduler's hot loop does no sampling.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from ..core.errors import ConfigError, UserError
from .config import Availability, Population, bandwidth_mbit
from .trace import ClientTrace, finite_numbers, read_table

if TYPE_CHECKING:
    import pandas as pd

DAY, WEEK = 86400.0, 7 * 86400.0
CHUNK = 1 << 16

Sampler = Callable[[np.random.Generator, int], np.ndarray]
# one chunk of sessions: start, end, device, class, task duration (s)
SessionChunk = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
Number = TypeVar("Number", float, np.ndarray)


def task_duration(
    t_per_example_s: Number, epochs: int, records: Number, update_bytes: float, bandwidth_bytes_per_s: Number
) -> Number:
    """The paper's taskDuration(k) = t·E·|Dk| + 2·M/N: local training plus model download and update upload.

    t: seconds per example; E: local epochs; |Dk|: the client's records; M: update bytes; N: bytes/s.
    Scalars or numpy arrays (broadcast).
    """
    return t_per_example_s * epochs * records + 2.0 * update_bytes / bandwidth_bytes_per_s


def mbit_to_bytes_per_s(mbit_per_s: float | np.ndarray) -> np.ndarray:
    return np.asarray(mbit_per_s) * 1e6 / 8.0  # megabits to bytes


class QuantileSampler:
    """Inverse-CDF sampling from 101 quantiles q0..q100 (linear between them)."""

    def __init__(self, quantiles: Sequence[float] | np.ndarray):
        self.q = np.asarray(quantiles, dtype=float)
        self.grid = np.linspace(0.0, 1.0, len(self.q))

    def __call__(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.interp(rng.random(n), self.grid, self.q)


class LognormalSampler:
    def __init__(self, median: float, sigma: float, lo: float = 0.0, hi: float = math.inf):
        self.mu, self.sigma, self.lo, self.hi = math.log(median), sigma, lo, hi

    def __call__(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.clip(rng.lognormal(self.mu, self.sigma, n), self.lo, self.hi)


class ConstantSampler:
    def __init__(self, value: float):
        self.value = float(value)

    def __call__(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, self.value)


class EmpiricalSampler:
    def __init__(self, values: Sequence[float] | np.ndarray):
        self.values = np.asarray(values, dtype=float)

    def __call__(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.choice(self.values, n)


@dataclass
class ComputeClasses:
    """The population's classes: names, shares of devices, and per-example training-time samplers."""

    names: list[str]
    shares: np.ndarray
    samplers: Sequence[Sampler]
    update_bytes: float | None = None  # from the profiles, when given
    device_models: list[str] | None = None  # per class, from the profiles: the measured device it was measured on
    profiles: pd.DataFrame | None = None  # the profile rows of the simulated model (for the coverage mapping)


def classes_from_config(pop: Population, model_name: str, file: str) -> ComputeClasses:
    if pop.profiles:
        return classes_from_profiles(Path(pop.profiles), model_name, file)
    samplers: list[Sampler] = [
        LognormalSampler(c.per_example_s.median, c.per_example_s.sigma)
        if c.per_example_s.dist == "lognormal"
        else ConstantSampler(c.per_example_s.median)
        for c in pop.classes
    ]
    shares = np.array([c.share for c in pop.classes], dtype=float)
    return ComputeClasses([c.name for c in pop.classes], shares / shares.sum(), samplers)


def classes_from_profiles(path: Path, model_name: str, file: str) -> ComputeClasses:
    """One compute class per (device_model, os) row of the profiles Parquet for this model."""
    from ..profiles import read_profiles

    if not path.is_file():
        raise ConfigError(
            file,
            "population.profiles",
            f"file {path} not found; build it with `flint-bench profiles build` or remove the key to use population.classes",
        )
    df = read_profiles(path)
    rows = df[df["model"].astype(str).str.lower() == model_name.lower()]
    if rows.empty:
        raise ConfigError(
            file,
            "population.profiles",
            f"model '{model_name}' has no rows in {path} (models there: {sorted(df['model'].astype(str).unique())}). "
            "Benchmark the model and rebuild the profiles, or set sim.model to one of those",
        )
    try:
        quantiles = [np.asarray(q, dtype=float) for q in rows["per_example_s_quantiles"]]
        shares = rows["share"].to_numpy(float) if "share" in rows else np.ones(len(rows))
        upd = float(rows["update_bytes"].iloc[0]) if "update_bytes" in rows else None
    except (TypeError, ValueError) as e:
        raise UserError(f"{path}: a profile column is not numeric ({e}). Rebuild it with `flint-bench profiles build`.") from None
    bad = [
        i
        for i, q in enumerate(quantiles)
        if q.ndim != 1 or len(q) < 2 or not np.isfinite(q).all() or (q < 0).any() or (np.diff(q) < 0).any()
    ]
    if (
        bad
        or not (np.isfinite(shares).all() and (shares > 0).all())
        or (upd is not None and not (math.isfinite(upd) and upd > 0))
    ):
        raise UserError(
            f"{path}: model '{model_name}' has a row with per_example_s_quantiles that are not finite, non-negative and "
            "non-decreasing, or a share / update_bytes that is not a finite number > 0. Rebuild it with `flint-bench profiles build`."
        )
    names = [f"{r.device_model}/{getattr(r, 'os', '')}".rstrip("/") for r in rows.itertuples()]
    return ComputeClasses(
        names,
        shares / shares.sum(),
        [QuantileSampler(q) for q in quantiles],
        upd,
        rows["device_model"].astype(str).tolist(),
        rows.reset_index(drop=True),
    )


def bandwidth_sampler(spec: str, file: str) -> Sampler:
    """Mbit/s samples: the shipped parametric file, a constant, or an empirical CSV column `mbit_per_s`."""
    if spec == "builtin":
        d = tomllib.loads(resources.files("flint_bench").joinpath("data/bandwidth.toml").read_text())
        return LognormalSampler(d["median_mbit_per_s"], d["sigma"], d["min_mbit_per_s"], d["max_mbit_per_s"])
    value = bandwidth_mbit(spec, file)
    if value is not None:
        return ConstantSampler(value)
    path = Path(spec)
    if not path.is_file():
        raise ConfigError(
            file, "population.bandwidth", f"'{spec}' is neither 'builtin', a number of Mbit/s, nor an existing CSV file"
        )
    samples = read_table(path, "bandwidth CSV")
    if "mbit_per_s" not in samples:
        raise ConfigError(file, "population.bandwidth", f"{path} needs a column 'mbit_per_s'")
    mbit = finite_numbers(samples["mbit_per_s"], path, "mbit_per_s")
    if (mbit <= 0).any():
        raise UserError(f"{path}: column 'mbit_per_s' must be > 0 in every row (a bandwidth of 0 never uploads).")
    return EmpiricalSampler(mbit)


def diurnal_factor(t: float | np.ndarray, trough: float, peak_hour: float) -> np.ndarray:
    """Relative check-in rate at virtual time t (s): 1 at the weekly peak, `trough` at the daily troughs."""
    daily = 0.5 + 0.5 * np.cos(2 * np.pi * (np.asarray(t) / 3600.0 - peak_hour) / 24.0)
    weekly = 0.85 + 0.15 * (0.5 + 0.5 * np.cos(2 * np.pi * np.asarray(t) / WEEK))
    return trough + (1 - trough) * daily * weekly


class SessionStream:
    """Sessions sorted by start, produced in chunks: start, end, device, class, task duration (s)."""

    def __init__(
        self,
        avail: Availability,
        n_devices: int,
        device_class: np.ndarray,
        t_samplers: Sequence[Sampler],
        bw_sampler: Sampler,
        sizes: np.ndarray,
        epochs: int,
        update_bytes: float,
        rng: np.random.Generator,
        trace: ClientTrace | None = None,
    ):
        self.avail, self.n, self.device_class, self.t_samplers = avail, n_devices, device_class, t_samplers
        self.bw, self.sizes, self.epochs, self.update_bytes, self.rng = bw_sampler, sizes, epochs, update_bytes, rng
        self.trace, self.trace_pos, self.clock = trace, 0, 0.0
        f = diurnal_factor(np.linspace(0, WEEK, 10_000, endpoint=False), avail.trough_fraction, avail.peak_hour)
        # thinning: candidates at the peak rate, kept with probability factor(t); mean rate = checkins/day
        self.peak_rate = n_devices * avail.checkins_per_device_per_day / DAY / float(f.mean())

    def state(self) -> dict[str, Any]:
        """What changes as sessions are drawn, JSON-able (checkpoints). A trace can hold millions of
        sessions: only the position in it is kept; the trace itself is read again from its file."""
        return {"rng": self.rng.bit_generator.state, "trace_pos": self.trace_pos, "clock": self.clock}

    def restore(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]
        self.trace_pos, self.clock = int(state["trace_pos"]), float(state["clock"])

    def next_chunk(self) -> SessionChunk | None:
        """Arrays for the next sessions, or None when a trace is exhausted."""
        if self.trace is not None:
            tr = self.trace
            if self.trace_pos >= len(tr.start):
                return None
            sl = slice(self.trace_pos, self.trace_pos + CHUNK)
            self.trace_pos += CHUNK
            start, end, dev = tr.start[sl], tr.end[sl], tr.client[sl]
        elif self.avail.always:
            # every device is always eligible: check-ins about every minute per device, sessions never end
            gaps = self.rng.exponential(60.0 / self.n, CHUNK)
            start = self.clock + np.cumsum(gaps)
            self.clock = float(start[-1])
            end = np.full(CHUNK, np.inf)
            dev = self.rng.integers(0, self.n, CHUNK)
        else:
            gaps = self.rng.exponential(1.0 / self.peak_rate, CHUNK)
            cand = self.clock + np.cumsum(gaps)
            self.clock = float(cand[-1])
            keep = self.rng.random(CHUNK) < diurnal_factor(cand, self.avail.trough_fraction, self.avail.peak_hour)
            start = cand[keep]
            end = start + self.rng.exponential(self.avail.mean_session_minutes * 60.0, len(start))
            dev = self.rng.integers(0, self.n, len(start))
        cls = self.device_class[dev]
        t = np.empty(len(dev))
        for i, sampler in enumerate(self.t_samplers):
            mask = cls == i
            t[mask] = sampler(self.rng, int(mask.sum()))
        n_bw = mbit_to_bytes_per_s(self.bw(self.rng, len(dev)))
        duration = task_duration(t, self.epochs, self.sizes[dev], self.update_bytes, n_bw)
        return start, end, dev, cls, duration


def assign_classes(
    n_devices: int, classes: ComputeClasses, rng: np.random.Generator, client_class: np.ndarray | None = None
) -> np.ndarray:
    """Each device's class: by the device mix (shares); a device with a measured profile of its own
    (`client_class` >= 0, from the coverage mapping) gets that one instead. The mix is drawn for every
    device either way, so the random stream, and a run without profiles, stay the same."""
    cls = rng.choice(len(classes.shares), size=n_devices, p=classes.shares).astype(np.int64)
    if client_class is not None:
        own = client_class >= 0
        cls[own] = client_class[own]
    return cls
