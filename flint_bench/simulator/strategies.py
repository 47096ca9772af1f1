"""The server's side of each FL mode, one strategy object per mode (FedAvg, FedBuff).

A strategy owns the server maths: the scheduler that decides which updates one aggregation
applies, the weight of each client's delta, how many past model versions clients may still be
training on, and the server step. The trial loop calls these and never asks which mode it runs.
No I/O, no state of its own (the trial's state lives in `state.TrialState`).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ..core.errors import ConfigError
from .clock import Aggregation, FedAvgScheduler, FedBuffScheduler, Scheduler
from .config import FedAvg, FedBuff, SimConfig
from .population import SessionStream

if TYPE_CHECKING:
    import torch


def staleness_weight(staleness: Sequence[int] | np.ndarray) -> np.ndarray:
    """FedBuff's down-weighting of an update computed on a model `staleness` versions old: 1/sqrt(1+τ)."""
    return 1.0 / np.sqrt(1.0 + np.asarray(staleness, dtype=float))


class Strategy(ABC):
    """Server maths of one mode. `server_lr` is the server optimizer's step (plain SGD on the pseudo-gradient -Δ)."""

    mode: ClassVar[str]
    server_lr: float

    @abstractmethod
    def scheduler(self, stream: SessionStream, n_devices: int, n_classes: int) -> Scheduler:
        """The virtual-clock scheduler that hands out this mode's aggregations."""

    @abstractmethod
    def client_weights(self, agg: Aggregation, records: np.ndarray) -> np.ndarray:
        """Weights of the clients' deltas in `agg` (records[i]: records of client agg.clients[i])."""

    @property
    @abstractmethod
    def versions_kept(self) -> int:
        """Model versions kept behind the newest: the oldest start a client update may still use."""

    # an optional hook: most modes run on any number of clients
    def check_clients(self, n_clients: int, file: str) -> None:  # noqa: B027
        """Fail (naming the key) when the mode cannot run on `n_clients` training clients."""

    def server_step(self, params: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
        """w <- w + η_s · Δ, where Δ is the weighted sum of the client deltas."""
        return params + self.server_lr * delta


@dataclass(frozen=True)
class FedAvgStrategy(Strategy):
    """Synchronous rounds; every client starts on the newest model; deltas weighted |Dk| / Σ|Dj|."""

    settings: FedAvg
    server_lr: float = 1.0
    mode: ClassVar[str] = "fedavg"

    def scheduler(self, stream: SessionStream, n_devices: int, n_classes: int) -> Scheduler:
        s = self.settings
        return FedAvgScheduler(stream, n_devices, n_classes, s.cohort, s.overcommit, s.round_deadline_s)

    def client_weights(self, agg: Aggregation, records: np.ndarray) -> np.ndarray:
        w = np.asarray(records, dtype=float)
        return w / w.sum()

    @property
    def versions_kept(self) -> int:
        return 0

    def check_clients(self, n_clients: int, file: str) -> None:
        if math.ceil(self.settings.cohort * self.settings.overcommit - 1e-9) > n_clients:
            raise ConfigError(
                file,
                "fedavg.cohort",
                f"cohort x overcommit selects more devices than the {n_clients} training clients (of proxy.dataset, or of the "
                "trace under trace_to_clients = 'one-to-one'); lower fedavg.cohort / fedavg.overcommit",
            )


@dataclass(frozen=True)
class FedBuffStrategy(Strategy):
    """Asynchronous buffer of K updates; delta i weighted 1/sqrt(1+τ_i) / K; updates staler than the limit are dropped."""

    settings: FedBuff
    server_lr: float = 1.0
    mode: ClassVar[str] = "fedbuff"

    def scheduler(self, stream: SessionStream, n_devices: int, n_classes: int) -> Scheduler:
        s = self.settings
        return FedBuffScheduler(stream, n_devices, n_classes, s.concurrency, s.buffer, s.max_staleness, s.task_timeout_s)

    def client_weights(self, agg: Aggregation, records: np.ndarray) -> np.ndarray:
        return staleness_weight(agg.staleness) / self.settings.buffer

    @property
    def versions_kept(self) -> int:
        return self.settings.max_staleness


def strategy_for(cfg: SimConfig) -> Strategy:
    """The strategy of `sim.mode`, with its config section and the server learning rate."""
    by_mode: dict[str, Strategy] = {
        FedAvgStrategy.mode: FedAvgStrategy(cfg.fedavg, cfg.sim.server_lr),
        FedBuffStrategy.mode: FedBuffStrategy(cfg.fedbuff, cfg.sim.server_lr),
    }
    return by_mode[cfg.sim.mode]


def client_lr(base: float, schedule: str, aggregation: int, total: int, step_every: int = 50, gamma: float = 0.5) -> float:
    """The client learning rate at aggregation number `aggregation` (0-based)."""
    if schedule == "constant":
        return base
    if schedule == "cosine":
        return base * 0.5 * (1.0 + math.cos(math.pi * min(aggregation, total) / max(total, 1)))
    if schedule == "step":
        return base * gamma ** (aggregation // max(step_every, 1))
    raise ValueError(f"unknown lr schedule {schedule!r}")
