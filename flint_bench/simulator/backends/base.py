"""What every backend shares: an aggregation's clients cut into work units, the units assigned to the
executors, and the units' partial sums added in unit order.

A work unit is a run of the aggregation's clients ordered by start model version, cut into near-equal
pieces of records (`work_units`); its partial sum is one `Executor.weighted_delta_sum` call over exactly
those clients, so it does not depend on which executor computes it. Units are cut the same way for every
executor count and backend, and the leader adds their sums in unit order: 1 executor, worker
processes and Ray actors give the same numbers bit for bit. Every executor can train any client (it
holds the whole proxy, in memory or generated on demand), so units go to the executors by estimated
cost (longest first to the least loaded).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, replace
from types import TracebackType
from typing import TYPE_CHECKING

import numpy as np

from ...core.errors import UserError
from ..proxy import ProxyData

# a worker that neither answers nor exits within this many seconds of a job is an error, not a hang
JOB_DEADLINE_S = 3600.0
START_DEADLINE_S = 300.0  # starting an executor imports torch and builds the model
# An aggregation's records are cut into units of about max(MIN_UNIT_ROWS, records / TARGET_UNITS): enough
# pieces to balance 2+ executors, big enough that a unit's fixed cost (set the model, one forward-backward
# call: ~1.5 ms for model C, as much as ~15 of its records) stays small; measured on this machine, model C's
# pass over ~70 records costs less per record than over 150 (the activations stay in the core's cache).
# Depends on the aggregation only, never on the executor count.
TARGET_UNITS, MIN_UNIT_ROWS = 8, 96
UNIT_OVERHEAD_ROWS = 15  # a pass's fixed cost in records, for the balance

if TYPE_CHECKING:
    import torch

    from ...zoo import ModelDef
    from ..training import Executor


class ExecutorFailed(UserError):
    """An executor (worker process, Ray actor) crashed, raised, or missed its deadline."""


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
class ExecutorJob:
    """One executor's share of an aggregation: its work units' clients (global ids), start rows and weights.

    Unit `units[u]` (its index in the aggregation) is the clients at positions cuts[u]:cuts[u + 1].
    """

    executor: int
    clients: np.ndarray
    start_index: np.ndarray
    weights: np.ndarray
    cuts: np.ndarray
    units: np.ndarray

    def with_slots(self, slot_of: np.ndarray) -> ExecutorJob:
        """The job as an executor with its own model table reads it: each client's start row as that row's slot."""
        return replace(self, start_index=slot_of[self.start_index])


def work_units(start_index: np.ndarray, sizes: np.ndarray) -> list[np.ndarray]:
    """Positions of each unit's clients: the clients ordered by start model (in `starts` row order), then
    cut into the fewest near-equal pieces of at most `unit_rows` records (a client stays whole; a piece can
    span two start models, which costs it one more pass but keeps the pieces equal for the balance)."""
    unit_rows = max(MIN_UNIT_ROWS, -(-int(sizes.sum()) // TARGET_UNITS))
    order = np.argsort(start_index, kind="stable")
    n = sizes[order]
    total = int(n.sum())
    pieces = max(1, -(-total // unit_rows))
    piece = ((np.cumsum(n) - n) * pieces) // max(total, 1)  # a client goes to the piece where its records begin
    return np.split(order, np.flatnonzero(np.diff(piece)) + 1)


def assign_units(costs: np.ndarray, executors: int) -> list[np.ndarray]:
    """Longest processing time first: each unit to the least loaded executor; each executor's units in unit order."""
    loads = np.zeros(executors)
    out: list[list[int]] = [[] for _ in range(executors)]
    for u in np.argsort(-costs, kind="stable").tolist():
        e = int(np.argmin(loads))
        out[e].append(u)
        loads[e] += costs[u]
    return [np.array(sorted(units), dtype=np.int64) for units in out]


def unit_sums(ex: Executor, job: ExecutorJob, starts: torch.Tensor, task: TrainingTask) -> list[torch.Tensor]:
    """An executor's work: each unit of `job` on its own (the same call whichever executor runs it)."""
    out = []
    for a, b in zip(job.cuts[:-1].tolist(), job.cuts[1:].tolist(), strict=True):
        out.append(
            ex.weighted_delta_sum(
                job.clients[a:b],
                starts,
                job.start_index[a:b],
                job.weights[a:b],
                task.lr,
                task.epochs,
                task.batch_size,
                task.seed_key,
            )
        )
    return out


class Backend(ABC):
    def __init__(self, data: TrainingData):
        self.executor_count = max(data.executors, 1)
        self.sizes = data.proxy.sizes

    def jobs(self, clients: np.ndarray, start_index: np.ndarray, weights: np.ndarray) -> tuple[list[ExecutorJob], int]:
        """The aggregation's work units assigned to the executors (jobs without units left out), and the unit count."""
        units = work_units(start_index, self.sizes[clients])
        # a unit's cost: its records plus one fixed cost per start model in it (one pass each)
        costs = np.array(
            [self.sizes[clients[u]].sum() + UNIT_OVERHEAD_ROWS * len(np.unique(start_index[u])) for u in units], dtype=np.float64
        )
        jobs = []
        for e, mine in enumerate(assign_units(costs, self.executor_count)):
            if len(mine):
                idx = np.concatenate([units[u] for u in mine])
                cuts = np.concatenate([[0], np.cumsum([len(units[u]) for u in mine])]).astype(np.int64)
                jobs.append(ExecutorJob(e, clients[idx], start_index[idx], weights[idx], cuts, mine))
        return jobs, len(units)

    def weighted_delta_sum(
        self, clients: np.ndarray, starts: torch.Tensor, start_index: np.ndarray, weights: np.ndarray, task: TrainingTask
    ) -> torch.Tensor:
        """Σ_i weights[i] · (trained_i − start_i); starts: [V, P] distinct start models, start_index[i] picks client i's."""
        import torch

        jobs, n_units = self.jobs(np.asarray(clients), np.asarray(start_index), np.asarray(weights))
        sums: list[torch.Tensor | None] = [None] * n_units
        for job, parts in zip(jobs, self.partial_sums(jobs, starts, task), strict=True):
            for u, part in zip(job.units.tolist(), parts, strict=True):
                sums[u] = part
        total: torch.Tensor | None = None
        for part in sums:  # in unit order, whichever executor computed each
            assert part is not None
            total = part if total is None else total + part
        return total if total is not None else torch.zeros(starts.shape[1])

    @abstractmethod
    def partial_sums(self, jobs: list[ExecutorJob], starts: torch.Tensor, task: TrainingTask) -> Iterable[torch.Tensor]:
        """Per job (in the order of `jobs`), its units' weighted delta sums: [len(job.units), P], rows in `job.units` order."""

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
