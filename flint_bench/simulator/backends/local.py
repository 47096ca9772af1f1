"""Executors in this process: one executor holding the whole proxy runs every work unit; `process` runs
the units on worker processes in parallel. Both give the same numbers (units are summed in unit order)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from .base import Backend, ExecutorJob, TrainingData, TrainingTask, unit_sums

if TYPE_CHECKING:
    import torch


class LocalBackend(Backend):
    def __init__(self, data: TrainingData):
        from ..training import Executor

        super().__init__(data)
        self.executor = Executor(data.model, data.proxy.rows(0, data.proxy.clients), 0, data.chunk)

    def partial_sums(self, jobs: list[ExecutorJob], starts: torch.Tensor, task: TrainingTask) -> Iterator[torch.Tensor]:
        import torch

        for job in jobs:
            yield torch.stack(unit_sums(self.executor, job, starts, task))
