"""What every backend shares: the proxy split into contiguous client partitions (one executor each),
routing an aggregation's clients to their partitions, and summing the partial sums in executor order.

A backend differs only in where the executors run (this process, Ray actors); summing in the same
order makes every backend give the same numbers for the same seed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

import numpy as np

from ..proxy import ProxyData, partition

# a worker that neither answers nor exits within this many seconds of a job is an error, not a hang
JOB_DEADLINE_S = 3600.0

if TYPE_CHECKING:
    import torch

    from ...zoo import ModelDef


@dataclass(frozen=True)
class TrainingData:
    """What a backend needs to build its executors."""

    model: ModelDef
    model_ref: str  # how another process loads the same model: a zoo name or path/to/file.py:entry
    proxy: ProxyData
    executors: int
    chunk: int  # clients per vmap chunk; 0 = one model in place, one client at a time
    ray_address: str | None = None  # the `ray` backend: a running cluster to join ("auto", "host:6379")


@dataclass(frozen=True)
class TrainingTask:
    """How every client of one aggregation trains."""

    lr: float
    epochs: int
    batch_size: int  # 0 = full batch
    seed_key: tuple[int, ...]  # with the client id, seeds the client's row shuffles
    # per row of `starts`: a key naming that model for the whole run, (trial, model version); a backend in
    # other processes sends each model once. Empty: unknown, send every time
    versions: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class PartitionJob:
    """One executor's share of an aggregation: its clients (global ids), their start rows and weights."""

    executor: int
    clients: np.ndarray
    start_index: np.ndarray
    weights: np.ndarray


class Backend(ABC):
    def __init__(self, data: TrainingData):
        self.bounds = partition(data.proxy.clients, data.executors)
        self._upper = np.array([hi for _, hi in self.bounds])

    def split(self, clients: np.ndarray) -> list[np.ndarray]:
        """Per executor, the positions in `clients` of the clients its partition holds."""
        owner = np.searchsorted(self._upper, clients, side="right")
        return [np.flatnonzero(owner == e) for e in range(len(self.bounds))]

    def weighted_delta_sum(
        self, clients: np.ndarray, starts: torch.Tensor, start_index: np.ndarray, weights: np.ndarray, task: TrainingTask
    ) -> torch.Tensor:
        """Σ_i weights[i] · (trained_i − start_i); starts: [V, P] distinct start models, start_index[i] picks client i's."""
        import torch

        jobs = [
            PartitionJob(e, clients[idx], start_index[idx], weights[idx]) for e, idx in enumerate(self.split(clients)) if len(idx)
        ]
        total: torch.Tensor | None = None
        for part in self.partial_sums(jobs, starts, task):  # in executor order
            total = part if total is None else total + part
        return total if total is not None else torch.zeros(starts.shape[1])

    @abstractmethod
    def partial_sums(self, jobs: list[PartitionJob], starts: torch.Tensor, task: TrainingTask) -> Iterable[torch.Tensor]:
        """Each job's weighted delta sum, in the order of `jobs`."""

    def close(self) -> None:  # noqa: B027
        """Release what the backend started (processes, actors); nothing by default."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None) -> None:
        self.close()


class ModelSlots:
    """Which slot of an executor's model table holds which start model (`TrainingTask.versions` keys).

    The leader keeps this mirror of a table that lives elsewhere (shared memory, a Ray actor), so each model
    version crosses to it once: `assign` gives every row of `starts` a slot and lists the rows to write.
    """

    def __init__(self, capacity: int = 8):
        self.capacity = capacity
        self.slots: dict[tuple[int, int], int] = {}  # insertion order = least recently used first

    def assign(self, keys: list[tuple[int, int]]) -> tuple[np.ndarray, list[int]]:
        """(slot of each key, indices of the keys whose model must be written to its slot)."""
        if len(keys) > self.capacity:  # more distinct start models than slots: start a bigger table
            self.capacity, self.slots = 2 * len(keys), {}
        out, writes, in_use = np.empty(len(keys), dtype=np.int64), [], set(keys)
        for i, key in enumerate(keys):
            slot = self.slots.pop(key, None)
            if slot is None or key[0] < 0:  # unknown or unkeyed: (re)write it
                if slot is None and len(self.slots) >= self.capacity:
                    slot = self.slots.pop(next(k for k in self.slots if k not in in_use))
                elif slot is None:
                    taken = set(self.slots.values())
                    slot = next(s for s in range(self.capacity) if s not in taken)
                writes.append(i)
            self.slots[key] = slot  # most recently used last
            out[i] = slot
        return out, writes


def model_keys(starts_rows: int, task: TrainingTask) -> list[tuple[int, int]]:
    """The key of each row of `starts`; without versions, keys that never match (rewritten every time)."""
    if len(task.versions) == starts_rows:
        return list(task.versions)
    return [(-1, -1 - i) for i in range(starts_rows)]
