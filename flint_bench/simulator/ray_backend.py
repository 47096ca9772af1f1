"""Executors as Ray actors (optional extra `ray`): each actor holds one proxy partition and one model.

The leader keeps the virtual clock and the global model; per aggregation it sends each actor its
clients and the start models they need, and sums the actors' weighted delta sums in executor
order, exactly as `LocalBackend` does, so both backends give the same numbers for the same seed.
"""

from __future__ import annotations

import os

import numpy as np

from ..core.errors import MissingDependency
from .proxy import partition, slice_partition


class _ExecutorActor:
    def __init__(self, model_ref: str, tensors, offsets, lo: int, chunk: int):
        import torch

        from ..zoo import load_model
        from .training import Executor

        torch.set_num_threads(1)
        self.ex = Executor(load_model(model_ref), tensors, offsets, lo, chunk)

    def weighted_delta_sum(self, *args):
        return self.ex.weighted_delta_sum(*args)


class RayBackend:
    def __init__(self, setup):
        try:
            import ray
        except ImportError:
            raise MissingDependency("simulate --backend ray", "ray", "ray") from None
        self.ray = ray
        self._started = not ray.is_initialized()
        if self._started:
            # a local Ray instance sized to the executors; RAY_ADDRESS in the environment joins a cluster instead
            ray.init(
                address=os.environ.get("RAY_ADDRESS"),
                num_cpus=None if os.environ.get("RAY_ADDRESS") else max(setup.cfg.sim.executors, 1),
                include_dashboard=False,
                log_to_driver=False,
                logging_level="ERROR",
            )
        s = setup.cfg.sim
        self.bounds = partition(setup.proxy.clients, s.executors)
        remote = ray.remote(num_cpus=1)(_ExecutorActor)
        model_ref = str(setup.model.source) + ":" + setup.model.entry if setup.model.source else s.model
        self.actors = [
            remote.remote(model_ref, *slice_partition(setup.proxy, lo, hi), lo, s.train_chunk) for lo, hi in self.bounds
        ]

    def split(self, clients: np.ndarray) -> list[np.ndarray]:
        his = np.array([hi for _, hi in self.bounds])
        owner = np.searchsorted(his, clients, side="right")
        return [np.flatnonzero(owner == e) for e in range(len(self.bounds))]

    def weighted_delta_sum(self, clients, starts, start_index, weights, lr, epochs, batch_size, seed_key):
        import torch

        starts_ref = self.ray.put(starts)
        futures = [
            self.actors[e].weighted_delta_sum.remote(
                clients[idx], starts_ref, start_index[idx], weights[idx], lr, epochs, batch_size, seed_key
            )
            for e, idx in enumerate(self.split(clients))
            if len(idx)
        ]
        total = None
        for part in self.ray.get(futures):  # summed in executor order, like LocalBackend
            total = part if total is None else total + part
        return total if total is not None else torch.zeros(starts.shape[1])

    def close(self) -> None:
        for a in self.actors:
            self.ray.kill(a)
        if self._started:
            self.ray.shutdown()
