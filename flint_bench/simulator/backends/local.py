"""Executors in this process, one per proxy partition (`sim.executors`); `process` runs them in parallel."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from .base import Backend, PartitionJob, TrainingData, TrainingTask

if TYPE_CHECKING:
    import torch


class LocalBackend(Backend):
    def __init__(self, data: TrainingData):
        from ..training import Executor

        super().__init__(data)
        self.executors = [Executor(data.model, data.proxy.rows(lo, hi), lo, data.chunk) for lo, hi in self.bounds]

    def partial_sums(self, jobs: list[PartitionJob], starts: torch.Tensor, task: TrainingTask) -> Iterator[torch.Tensor]:
        for job in jobs:
            yield self.executors[job.executor].weighted_delta_sum(
                job.clients, starts, job.start_index, job.weights, task.lr, task.epochs, task.batch_size, task.seed_key
            )
