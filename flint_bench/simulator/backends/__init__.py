"""Where client training runs, by name: `local` (this machine: one executor in this process, several in
worker processes, one per core) or `ray` (actors on a Ray cluster; the optional extra `ray`).

with create_backend("local", data) as backend:
    delta = backend.weighted_delta_sum(clients, starts, start_index, weights, task)
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass

from ...core.errors import MissingDependency, UserError
from .base import Backend, ExecutorJob, TrainingData, TrainingTask

__all__ = ["BACKENDS", "Backend", "ExecutorJob", "TrainingData", "TrainingTask", "create_backend"]


def _local(data: TrainingData) -> Backend:
    if data.executors > 1:
        from .process import ProcessBackend

        return ProcessBackend(data)
    from .local import LocalBackend

    return LocalBackend(data)


def _ray(data: TrainingData) -> Backend:
    from .ray import RayBackend

    return RayBackend(data)


@dataclass(frozen=True)
class BackendEntry:
    build: Callable[[TrainingData], Backend]
    requires: str | None = None  # an optional package, installed by the extra of the same name


BACKENDS: dict[str, BackendEntry] = {
    "local": BackendEntry(_local),  # executors on this machine (worker processes when more than one)
    "ray": BackendEntry(_ray, requires="ray"),  # executors as Ray actors
}


def create_backend(name: str, data: TrainingData) -> Backend:
    """The backend `name` over `data`; a missing optional package is a MissingDependency with the install hint."""
    entry = BACKENDS.get(name)
    if entry is None:
        raise UserError(f"unknown simulator backend {name!r}; choose one of {sorted(BACKENDS)}.")
    if entry.requires is not None and importlib.util.find_spec(entry.requires) is None:
        raise MissingDependency(f"simulate --backend {name}", entry.requires, entry.requires)
    return entry.build(data)
