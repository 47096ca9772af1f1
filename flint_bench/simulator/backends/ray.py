"""Executors as Ray actors (optional extra `ray`): each actor holds the whole proxy (put in the object
store once) and one model, and runs its share of an aggregation's work units.

The leader keeps the virtual clock and the global model; per aggregation it sends each actor its
units' clients, the slots of its model table they start from, and only the model versions that actor
has not seen (`ModelSlots`). `Backend` adds the units' sums in unit order, so the numbers are those of
the `local` backend bit for bit.

`ray_address` joins a running cluster (`ray start --head` on one machine, `ray start --address ...` on
the others, then `--ray-address auto`); without it a Ray instance sized to the executors starts here.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import TYPE_CHECKING, Any

import numpy as np

from ...core.errors import UserError
from .base import (
    JOB_DEADLINE_S,
    START_DEADLINE_S,
    Backend,
    ExecutorFailed,
    ExecutorJob,
    ModelSlots,
    TrainingData,
    TrainingTask,
    model_keys,
    unit_sums,
)

if TYPE_CHECKING:
    import torch

    from ..partitions import RowSource

JOIN_DEADLINE_S = 10.0  # to reach a cluster's head: ray.init waits minutes on an address where nothing answers


def _check_head(address: str, given_as: str) -> None:
    """A usage error unless `address` ("auto", "host:port") names a cluster head that answers."""
    if address.startswith("ray://"):  # Ray Client: its own connection logic
        return
    hint = f"start one with `ray start --head` (see docs/simulator-cluster.md), or leave {given_as} out to start Ray here."
    try:
        from ray._private.services import canonicalize_bootstrap_address_or_die  # how ray.init reads "auto"
    except ImportError:  # a Ray that moved it: ray.init alone resolves the address
        return
    try:
        head = canonicalize_bootstrap_address_or_die(address)
    except (ConnectionError, ValueError) as e:
        raise UserError(f"{given_as} {address!r}: no Ray cluster to join ({e}); {hint}") from None
    host, _, port = head.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=JOIN_DEADLINE_S).close()
    except (OSError, ValueError) as e:
        raise UserError(f"{given_as} {address!r}: nothing answers at {head} ({e}); {hint}") from None


class _ExecutorActor:
    def __init__(self, model_ref: str, rows: RowSource, chunk: int):
        import torch

        from ...zoo import load_model
        from ..training import Executor

        torch.set_num_threads(1)
        self.ex = Executor(load_model(model_ref), rows, 0, chunk)
        self.table = np.zeros((0, self.ex.layout.size), dtype=np.float32)

    def ready(self) -> bool:
        return True

    def weighted_delta_sum(
        self, job: ExecutorJob, capacity: int, slots: list[int], task: TrainingTask, *models: np.ndarray
    ) -> np.ndarray:
        """`models[k]` goes to slot `slots[k]` (Ray resolves them from the object store: one copy for all actors)."""
        import torch

        if capacity != len(self.table):  # the leader's mirror started a new table
            self.table = np.zeros((capacity, self.ex.layout.size), dtype=np.float32)
        for slot, model in zip(slots, models, strict=True):
            self.table[slot] = model
        starts = torch.from_numpy(self.table)
        return torch.stack(unit_sums(self.ex, job, starts, task)).numpy()


class RayBackend(Backend):
    def __init__(self, data: TrainingData):
        import ray

        super().__init__(data)
        self.ray = ray
        self._started = not ray.is_initialized()
        self.actors: list[Any] = []
        address = data.ray_address or os.environ.get("RAY_ADDRESS")
        if self._started:
            if address:
                _check_head(address, "--ray-address" if data.ray_address else "RAY_ADDRESS")
            ray.init(
                # ray.init joins `address` as given ("auto": with the session's credentials that `ray start` wrote);
                # "local": a new instance even where `ray start` left a cluster file
                address=address or "local",
                num_cpus=None if address else max(data.executors, 1),
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.ERROR,
            )
        try:
            remote = ray.remote(num_cpus=1)(_ExecutorActor)
            rows = ray.put(data.proxy.rows(0, data.proxy.clients))  # one copy in the object store for every actor
            self.actors = [remote.remote(data.model_ref, rows, data.chunk) for _ in range(self.executor_count)]
            ray.get([a.ready.remote() for a in self.actors], timeout=START_DEADLINE_S)
        except BaseException as e:
            self.close()
            if isinstance(e, ray.exceptions.RayError):
                raise ExecutorFailed(f"the Ray executors did not start: {type(e).__name__}: {e}") from None
            raise
        self.slots = [ModelSlots() for _ in self.actors]
        # payload bytes to and from the actors (models, client ids, slots, weights; partial sums), per call
        self.traffic = {"calls": 0, "bytes_to_executors": 0, "bytes_from_executors": 0}

    def partial_sums(self, jobs: list[ExecutorJob], starts: torch.Tensor, task: TrainingTask) -> list[torch.Tensor]:
        import torch

        keys = model_keys(len(starts), task)
        # each model version is put in the object store once and its reference passed to every actor that needs
        # it (an array argument is serialized per call: 2 actors took 6.8 ms a round trip, 5.6 with one put)
        refs: dict[tuple[int, int], object] = {}
        futures = []
        for job in jobs:
            mirror = self.slots[job.executor]
            slot_of, writes = mirror.assign(keys)
            # only the rows this job's clients start from are written (others wait until a job needs them)
            needed = set(np.unique(job.start_index).tolist())
            for i in [i for i in writes if i not in needed]:
                mirror.slots.pop(keys[i])
            sent = [i for i in writes if i in needed]
            for i in sent:
                if keys[i] not in refs:
                    refs[keys[i]] = self.ray.put(starts[i].numpy())
            slotted = job.with_slots(slot_of)
            slots = [int(slot_of[i]) for i in sent]
            call = self.actors[job.executor].weighted_delta_sum.remote
            futures.append(call(slotted, mirror.capacity, slots, task, *(refs[keys[i]] for i in sent)))
            job_arrays = [slotted.clients, slotted.start_index, slotted.weights, slotted.cuts, slotted.units]
            arrays = [*job_arrays, *(starts[i].numpy() for i in sent)]
            self.traffic["bytes_to_executors"] += sum(a.nbytes for a in arrays)  # what each actor reads
        try:
            parts: list[np.ndarray] = self.ray.get(futures, timeout=JOB_DEADLINE_S)  # in the order of `jobs`
        except self.ray.exceptions.RayError as e:
            raise ExecutorFailed(f"a Ray executor failed in aggregation {task.seed_key[-1]}: {type(e).__name__}: {e}") from None
        self.traffic["calls"] += 1
        self.traffic["bytes_from_executors"] += sum(p.nbytes for p in parts)
        return [torch.from_numpy(p.copy()) for p in parts]

    def close(self) -> None:
        for a in self.actors:
            self.ray.kill(a)
        self.actors = []
        if self._started:
            self.ray.shutdown()
