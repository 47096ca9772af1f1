"""Executors as Ray actors (optional extra `ray`): each actor holds one proxy partition and one model.

The leader keeps the virtual clock and the global model; per aggregation it sends each actor its
clients and the start models they need, and `Backend` sums the actors' partial sums in executor order.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

import numpy as np

from ..proxy import slice_partition
from .base import Backend, PartitionJob, TrainingData, TrainingTask

if TYPE_CHECKING:
    import torch


class _ExecutorActor:
    def __init__(self, model_ref: str, tensors: tuple[torch.Tensor, ...], offsets: np.ndarray, lo: int, chunk: int):
        import torch

        from ...zoo import load_model
        from ..training import Executor

        torch.set_num_threads(1)
        self.ex = Executor(load_model(model_ref), tensors, offsets, lo, chunk)

    def weighted_delta_sum(self, job: PartitionJob, starts: torch.Tensor, task: TrainingTask) -> torch.Tensor:
        return self.ex.weighted_delta_sum(
            job.clients, starts, job.start_index, job.weights, task.lr, task.epochs, task.batch_size, task.seed_key
        )


class RayBackend(Backend):
    def __init__(self, data: TrainingData):
        import ray

        super().__init__(data)
        self.ray = ray
        self._started = not ray.is_initialized()
        if self._started:
            # a local Ray instance sized to the executors; RAY_ADDRESS in the environment joins a cluster instead
            ray.init(
                address=os.environ.get("RAY_ADDRESS"),
                num_cpus=None if os.environ.get("RAY_ADDRESS") else max(data.executors, 1),
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.ERROR,
            )
        remote = ray.remote(num_cpus=1)(_ExecutorActor)
        self.actors = [
            remote.remote(data.model_ref, *slice_partition(data.proxy, lo, hi), lo, data.chunk) for lo, hi in self.bounds
        ]

    def partial_sums(self, jobs: list[PartitionJob], starts: torch.Tensor, task: TrainingTask) -> list[torch.Tensor]:
        starts_ref = self.ray.put(starts)
        # ray's stubs do not model an actor method's `.remote`
        futures = [self.actors[job.executor].weighted_delta_sum.remote(job, starts_ref, task) for job in jobs]  # type: ignore[attr-defined]
        parts: list[torch.Tensor] = self.ray.get(futures)  # in the order of `jobs`
        return parts

    def close(self) -> None:
        for a in self.actors:
            self.ray.kill(a)  # type: ignore[arg-type]  # ray's stubs type a created actor as "handle | class"
        if self._started:
            self.ray.shutdown()
