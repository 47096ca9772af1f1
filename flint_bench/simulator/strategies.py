"""The server's side of each FL mode, one strategy object per mode (FedAvg, FedBuff).

A strategy owns the server maths: the scheduler that decides which updates one aggregation
applies, the weight of each client's delta, how many past model versions clients may still be
training on, and the server step. The trial loop calls these and never asks which mode it runs.
Under `[privacy]` it also bounds each client's weight and clips and noises the per-client deltas
(DP-FedAvg / DP-FedBuff, `privacy/dp.py`), and lengthens every task by SecAgg's cost
(`privacy/secagg.py`). No I/O, no state of its own (the trial's state lives in `state.TrialState`).
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
from .privacy.secagg import SecAggCost, client_extra_seconds
from .privacy.secagg import secagg_cost as secagg_cost_of
from .privacy.settings import DP, SecAgg
from .privacy.stream import ExtraTimeStream

if TYPE_CHECKING:
    import torch


def staleness_weight(staleness: Sequence[int] | np.ndarray) -> np.ndarray:
    """FedBuff's down-weighting of an update computed on a model `staleness` versions old: 1/sqrt(1+τ)."""
    return 1.0 / np.sqrt(1.0 + np.asarray(staleness, dtype=float))


class Strategy(ABC):
    """Server maths of one mode. `server_lr` is the server optimizer's step (plain SGD on the pseudo-gradient -Δ)."""

    mode: ClassVar[str]
    server_lr: float
    dp: DP | None
    secagg: SecAgg | None
    secagg_cost: SecAggCost | None  # set once the update size is known (privacy.run.apply_privacy)

    @abstractmethod
    def scheduler(self, stream: SessionStream, n_devices: int, n_classes: int) -> Scheduler:
        """The virtual-clock scheduler that hands out this mode's aggregations."""

    @property
    @abstractmethod
    def weight_bound(self) -> float:
        """The largest weight one client's delta can get under DP: its sensitivity is weight_bound · clip_norm."""

    @property
    @abstractmethod
    def sample_size(self) -> int:
        """Clients aggregated per step (for DP accounting); also the clients of one SecAgg instance under tee."""

    @property
    def min_relative_weight(self) -> float:
        """The smallest client weight under DP relative to `weight_bound` (local-mode accounting)."""
        return 1.0

    @property
    def secagg_clients(self) -> int:
        """Clients entering one SecAgg protocol instance."""
        return self.sample_size

    def check_privacy(self, file: str) -> None:
        """Fail (naming the key) when the SecAgg protocol cannot run with this mode and cohort."""
        if self.secagg is None:
            return
        cost = secagg_cost_of(self.secagg.protocol, self.secagg_clients, self.secagg.threshold, self.secagg.bits, 4.0)
        if self.sample_size < cost.threshold:
            raise ConfigError(
                file,
                "privacy.secagg.threshold",
                f"{self.secagg.protocol} SecAgg needs t = {cost.threshold} of the {cost.n} selected clients to survive, but a "
                f"{self.mode} aggregation uses only {self.sample_size}; lower the threshold or the overcommit",
            )

    def private_sum(self, deltas: torch.Tensor, weights: np.ndarray, generator: torch.Generator) -> tuple[torch.Tensor, float]:
        """The DP weighted sum of per-client deltas [n, P] (clipped, noised) and the share of clients clipped."""
        from .privacy.dp import private_sum

        assert self.dp is not None, "private_sum is only used with [privacy.dp]"
        return private_sum(deltas, weights, self.dp, self.weight_bound, generator)

    @property
    def task_extra_s(self) -> float:
        """Seconds every client task takes beyond compute and bytes: SecAgg's extra round trips and mask expansion."""
        if self.secagg is None or self.secagg_cost is None:
            return 0.0
        return client_extra_seconds(self.secagg_cost, self.secagg.rtt_s, self.secagg.prg_bytes_per_s)

    def _stream(self, stream: SessionStream) -> SessionStream:
        return ExtraTimeStream(stream, self.task_extra_s) if self.task_extra_s > 0 else stream

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
    dp: DP | None = None
    secagg: SecAgg | None = None
    secagg_cost: SecAggCost | None = None
    mode: ClassVar[str] = "fedavg"

    def scheduler(self, stream: SessionStream, n_devices: int, n_classes: int) -> Scheduler:
        s = self.settings
        return FedAvgScheduler(self._stream(stream), n_devices, n_classes, s.cohort, s.overcommit, s.round_deadline_s)

    def client_weights(self, agg: Aggregation, records: np.ndarray) -> np.ndarray:
        if self.dp is not None:  # DP-FedAvg's fixed denominator: record-weighted sums have no bounded sensitivity
            return np.full(len(records), self.weight_bound)
        w = np.asarray(records, dtype=float)
        return w / w.sum()

    @property
    def weight_bound(self) -> float:
        return 1.0 / self.settings.cohort

    @property
    def sample_size(self) -> int:
        return self.settings.cohort

    @property
    def secagg_clients(self) -> int:
        # every selected client (overcommit included) takes part in the key agreement; stragglers count as dropouts
        return math.ceil(self.settings.cohort * self.settings.overcommit - 1e-9)

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
    dp: DP | None = None
    secagg: SecAgg | None = None
    secagg_cost: SecAggCost | None = None
    mode: ClassVar[str] = "fedbuff"

    def scheduler(self, stream: SessionStream, n_devices: int, n_classes: int) -> Scheduler:
        s = self.settings
        return FedBuffScheduler(
            self._stream(stream), n_devices, n_classes, s.concurrency, s.buffer, s.max_staleness, s.task_timeout_s
        )

    def client_weights(self, agg: Aggregation, records: np.ndarray) -> np.ndarray:
        return staleness_weight(agg.staleness) / self.settings.buffer

    @property
    def weight_bound(self) -> float:
        return 1.0 / self.settings.buffer  # staleness weights are <= 1

    @property
    def sample_size(self) -> int:
        return self.settings.buffer

    @property
    def min_relative_weight(self) -> float:
        return float(staleness_weight([self.settings.max_staleness])[0])

    def check_privacy(self, file: str) -> None:
        if self.secagg is not None and self.secagg.protocol != "tee":
            raise ConfigError(
                file,
                "privacy.secagg.protocol",
                f"{self.secagg.protocol} SecAgg runs among a synchronous cohort and does not fit FedBuff's asynchronous "
                "buffer; use protocol = 'tee' (buffered SecAgg in a trusted enclave, paper section 3.6)",
            )

    @property
    def versions_kept(self) -> int:
        return self.settings.max_staleness


def strategy_for(cfg: SimConfig) -> Strategy:
    """The strategy of `sim.mode`, with its config section, the server learning rate and `[privacy]`."""
    p = cfg.privacy
    by_mode: dict[str, Strategy] = {
        FedAvgStrategy.mode: FedAvgStrategy(cfg.fedavg, cfg.sim.server_lr, p.dp, p.secagg),
        FedBuffStrategy.mode: FedBuffStrategy(cfg.fedbuff, cfg.sim.server_lr, p.dp, p.secagg),
    }
    strategy = by_mode[cfg.sim.mode]
    strategy.check_privacy(cfg.file)
    return strategy


def client_lr(base: float, schedule: str, aggregation: int, total: int, step_every: int = 50, gamma: float = 0.5) -> float:
    """The client learning rate at aggregation number `aggregation` (0-based)."""
    if schedule == "constant":
        return base
    if schedule == "cosine":
        return base * 0.5 * (1.0 + math.cos(math.pi * min(aggregation, total) / max(total, 1)))
    if schedule == "step":
        return base * gamma ** (aggregation // max(step_every, 1))
    raise ValueError(f"unknown lr schedule {schedule!r}")
