"""Executors in worker processes on this machine, one per proxy partition (every core).

Each worker (spawned, one torch thread) loads the model itself and owns one partition (`partitions`:
rows in memory, or generated on demand). Models cross through shared memory, not pipes: the leader
writes each model version once into a slot of a shared [slots, P] float32 table (keyed by
`TrainingTask.versions`), a job names the slots its clients start from, and each worker writes its
partial sum into its own row of a shared [workers, P] table. Only small job descriptions go through
the pipes. The leader sums the partial sums in executor order, as every backend does.

Every wait has a deadline (`JOB_DEADLINE_S`); a worker that dies or raises is an `ExecutorFailed`
naming it, its exit code and its error, and the other workers are stopped.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import signal
import time
import traceback
from multiprocessing.connection import Connection
from multiprocessing.shared_memory import SharedMemory
from typing import TYPE_CHECKING, Any

import numpy as np

from ...core.errors import UserError
from .base import JOB_DEADLINE_S, Backend, ModelSlots, PartitionJob, TrainingData, TrainingTask, model_keys

if TYPE_CHECKING:
    import torch

    from ..partitions import RowSource

START_DEADLINE_S = 300.0  # spawning a worker imports torch and builds the model


class ExecutorFailed(UserError):
    """A worker process crashed, raised, or missed its deadline."""


class _Table:
    """A float32 [rows, cols] array in shared memory (the creator unlinks it)."""

    def __init__(self, rows: int, cols: int, name: str | None = None):
        self.rows, self.cols = rows, cols
        self.shm = SharedMemory(name=name, create=name is None, size=max(rows * cols * 4, 4))
        self.array: np.ndarray = np.ndarray((rows, cols), dtype=np.float32, buffer=self.shm.buf)

    def spec(self) -> tuple[str, int, int]:
        return self.shm.name, self.rows, self.cols

    def close(self, unlink: bool = False) -> None:
        del self.array
        self.shm.close()
        if unlink:
            self.shm.unlink()


def _worker(conn: Connection, model_ref: str, rows: RowSource, lo: int, chunk: int, index: int) -> None:
    """A worker's loop: one job at a time until 'stop' (or the leader's pipe closes)."""
    import torch

    from ...zoo import load_model
    from ..training import Executor

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the leader stops the workers
    torch.set_num_threads(1)
    tables: dict[str, _Table] = {}
    try:
        ex = Executor(load_model(model_ref), rows, lo, chunk)
        conn.send(("ready", None))
        while True:
            kind, body = conn.recv()
            if kind == "stop":
                break
            models_spec, results_spec, job, lr, epochs, batch_size, seed_key = body
            for spec in (models_spec, results_spec):
                if spec[0] not in tables:
                    tables[spec[0]] = _Table(spec[1], spec[2], name=spec[0])
            starts = torch.from_numpy(tables[models_spec[0]].array)  # a view: the slots are read in place
            total = ex.weighted_delta_sum(job.clients, starts, job.start_index, job.weights, lr, epochs, batch_size, seed_key)
            tables[results_spec[0]].array[index] = total.numpy()
            conn.send(("done", None))
    except (EOFError, KeyboardInterrupt):
        pass
    except BaseException as e:  # reported to the leader, which raises it there
        with contextlib.suppress(OSError):
            conn.send(("error", f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=8)}"))
    finally:
        for t in tables.values():
            t.close()


class ProcessBackend(Backend):
    def __init__(self, data: TrainingData, deadline_s: float = JOB_DEADLINE_S):
        super().__init__(data)
        self.deadline_s = deadline_s
        self.size = sum(p.numel() for p in data.model.net.parameters() if p.requires_grad)
        ctx = mp.get_context("spawn")  # no fork of a process holding torch threads
        self.results = _Table(len(self.bounds), self.size)
        self.slots = ModelSlots()
        self.models = _Table(self.slots.capacity, self.size)
        self.conns: list[Connection] = []
        self.procs: list[Any] = []
        try:
            for e, (lo, hi) in enumerate(self.bounds):
                parent, child = ctx.Pipe()
                proc = ctx.Process(
                    target=_worker,
                    args=(child, data.model_ref, data.proxy.rows(lo, hi), lo, data.chunk, e),
                    name=f"flint-sim-executor-{e}",
                    daemon=True,
                )
                proc.start()
                child.close()
                self.conns.append(parent)
                self.procs.append(proc)
            for e in range(len(self.procs)):
                self._wait(e, "ready", START_DEADLINE_S, "starting")
        except BaseException:
            self.close()
            raise

    def _wait(self, e: int, expected: str, deadline_s: float, doing: str) -> None:
        conn, proc = self.conns[e], self.procs[e]
        end = time.monotonic() + deadline_s
        while not conn.poll(0.5):
            if not proc.is_alive():
                raise ExecutorFailed(f"simulator executor {e} (pid {proc.pid}) exited with code {proc.exitcode} while {doing}.")
            if time.monotonic() > end:
                raise ExecutorFailed(
                    f"simulator executor {e} (pid {proc.pid}) gave no answer within {deadline_s:.0f} s while {doing}."
                )
        try:
            kind, body = conn.recv()
        except EOFError:
            proc.join(5)  # a closed pipe is mostly a dead worker: name its exit code
            raise ExecutorFailed(
                f"simulator executor {e} (pid {proc.pid}) exited with code {proc.exitcode} while {doing}."
            ) from None
        if kind == "error":
            raise ExecutorFailed(f"simulator executor {e} failed while {doing}: {body}")
        if kind != expected:
            raise ExecutorFailed(f"simulator executor {e} answered {kind!r} while {doing}, not {expected!r}.")

    def _slot_rows(self, starts: torch.Tensor, task: TrainingTask) -> np.ndarray:
        """The slot of each row of `starts`, writing the models the workers have not seen yet."""
        slot_of, writes = self.slots.assign(model_keys(len(starts), task))
        if self.slots.capacity != self.models.rows:  # the mirror started a bigger table
            self.models.close(unlink=True)
            self.models = _Table(self.slots.capacity, self.size)
        for i in writes:
            self.models.array[slot_of[i]] = starts[i].numpy()
        return slot_of

    def partial_sums(self, jobs: list[PartitionJob], starts: torch.Tensor, task: TrainingTask) -> list[torch.Tensor]:
        import torch

        slot_of = self._slot_rows(starts, task)
        for job in jobs:
            slotted = PartitionJob(job.executor, job.clients, slot_of[job.start_index], job.weights)
            body = (self.models.spec(), self.results.spec(), slotted, task.lr, task.epochs, task.batch_size, task.seed_key)
            try:
                self.conns[job.executor].send(("job", body))
            except OSError:
                self._wait(job.executor, "done", 0, "taking a job")  # names the dead worker
        for job in jobs:
            self._wait(job.executor, "done", self.deadline_s, f"training aggregation {task.seed_key[-1]}")
        return [torch.from_numpy(self.results.array[job.executor].copy()) for job in jobs]

    def close(self) -> None:
        for conn in self.conns:
            with contextlib.suppress(OSError):
                conn.send(("stop", None))
        for proc in self.procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
        for conn in self.conns:
            conn.close()
        self.conns, self.procs = [], []
        for table in (self.results, self.models):
            if hasattr(table, "array"):
                table.close(unlink=True)
