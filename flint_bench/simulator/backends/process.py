"""Executors on every core of this machine: executor 0 is the leader itself, the others are worker
processes, each running its share of the work units.

The leader trains its own share while the workers train theirs: on a 2-core machine a leader that only
waited made three processes for two cores, and waking each worker preempted it (a pipe write cost 1.2 ms).
Each worker (spawned, one torch thread) loads the model itself and holds the whole proxy (`partitions`:
in-memory tensors cross to it through torch's shared-memory pickling, one copy for all workers; a lazy
proxy is only record counts), so it can train any unit. Models cross through shared memory, not pipes:
the leader writes each model version once into a slot of a shared [slots, P] float32 table (keyed by
`TrainingTask.versions`), a job names the slots its clients start from, and each worker writes each of
its units' partial sums into that unit's row of a shared [units, P] table. Only small job descriptions
go through the pipes. The leader adds the units' sums in unit order, as every backend does.

Every wait has a deadline (`JOB_DEADLINE_S`); a worker that dies or raises is an `ExecutorFailed`
naming it, its exit code and its error, and the other workers are stopped.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import sys
import time
import traceback
from multiprocessing.connection import Connection
from multiprocessing.shared_memory import SharedMemory
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

# Between aggregations a worker (and the leader awaiting results) polls busily this long before it sleeps: a
# sleeping vCPU of a VM wakes slowly (Task C, 2 executors: ~9,900 tasks/s spinning 5 ms, 8,400-9,200 not)
SPIN_S = 0.005


def _spin(conn: Connection, seconds: float) -> bool:
    """Whether a message arrived within `seconds` of busy polling."""
    end = time.perf_counter() + seconds
    while not conn.poll(0):
        if time.perf_counter() > end:
            return False
    return True


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


def _worker(conn: Connection, model_ref: str, chunk: int) -> None:
    """A worker's loop: say hello, take the proxy's rows, then one job at a time until 'stop' (or the leader's
    pipe closes). The rows come through the pipe, not as arguments: a child that dies while Python starts it
    would leave the leader blocked for ever writing large arguments into the spawn pipe (CPython keeps that
    pipe's read end open until the write ends)."""
    import torch

    from ...zoo import load_model
    from ..training import Executor

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the leader stops the workers
    torch.set_num_threads(1)
    tables: dict[str, _Table] = {}  # by role: "models", "results" (a bigger table replaces the old one)
    try:
        conn.send(("hello", None))
        rows: RowSource = conn.recv()
        ex = Executor(load_model(model_ref), rows, 0, chunk)
        conn.send(("ready", None))
        while True:
            _spin(conn, SPIN_S)
            kind, body = conn.recv()
            if kind == "stop":
                break
            models_spec, results_spec, job, lr, epochs, batch_size, seed_key = body
            for role, spec in (("models", models_spec), ("results", results_spec)):
                if role not in tables or tables[role].shm.name != spec[0]:
                    if role in tables:
                        tables.pop(role).close()
                    tables[role] = _Table(spec[1], spec[2], name=spec[0])
            starts = torch.from_numpy(tables["models"].array)  # a view: the slots are read in place
            task = TrainingTask(lr, epochs, batch_size, seed_key)
            for u, total in zip(job.units.tolist(), unit_sums(ex, job, starts, task), strict=True):
                tables["results"].array[u] = total.numpy()
            conn.send(("done", None))
    except (EOFError, KeyboardInterrupt):
        pass
    except BaseException as e:  # reported to the leader, which raises it there
        with contextlib.suppress(OSError):
            conn.send(("error", f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=8)}"))
    finally:
        for t in tables.values():
            t.close()


def _check_main_importable() -> None:
    """Spawned workers re-run the main script from its file: one read from standard input has none."""
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if main_file is not None and not os.path.exists(main_file):
        raise UserError(
            f"the simulator's worker processes (executors > 1) re-import the main script, and {main_file!r} is not a "
            "file they can read (a script from standard input?). Save the script to a file and run that, or use 1 executor."
        )


class ProcessBackend(Backend):
    def __init__(self, data: TrainingData, deadline_s: float = JOB_DEADLINE_S):
        _check_main_importable()
        super().__init__(data)
        self.deadline_s = deadline_s
        self.size = data.model.trainable_params
        ctx = mp.get_context("spawn")  # no fork of a process holding torch threads
        self.results = _Table(16, self.size)  # one row per work unit; grows when an aggregation has more
        self.slots = ModelSlots()
        self.models = _Table(self.slots.capacity, self.size)
        self.conns: list[Connection] = []  # executor e >= 1 is worker e - 1
        self.procs: list[Any] = []
        try:
            rows = data.proxy.rows(0, data.proxy.clients)
            for e in range(1, self.executor_count):
                parent, child = ctx.Pipe()
                proc = ctx.Process(
                    target=_worker,
                    args=(child, data.model_ref, data.chunk),
                    name=f"flint-sim-executor-{e}",
                    daemon=True,
                )
                proc.start()
                child.close()
                self.conns.append(parent)
                self.procs.append(proc)
            for e in range(1, self.executor_count):
                self._wait(e, "hello", START_DEADLINE_S, "starting")
                self._send(e, rows, "starting")
            from ..training import Executor

            self.leader = Executor(data.model, rows, 0, data.chunk)  # built while the workers build theirs
            for e in range(1, self.executor_count):
                self._wait(e, "ready", START_DEADLINE_S, "starting")
        except BaseException:
            self.close()
            raise

    def _exited(self, e: int, doing: str) -> str:
        proc = self.procs[e - 1]
        msg = f"simulator executor {e} (pid {proc.pid}) exited with code {proc.exitcode} while {doing}."
        if doing == "starting" and proc.exitcode == 1:
            # the usual cause: a script that starts a simulation at import time, which each spawned worker re-runs
            msg += ' If you call the simulator from a script of your own, start it under `if __name__ == "__main__":`.'
        return msg

    def _send(self, e: int, message: object, doing: str) -> None:
        try:
            self.conns[e - 1].send(message)
        except OSError:
            self._wait(e, "done", 0, doing)  # a broken pipe is a dead worker: name it

    def _wait(self, e: int, expected: str, deadline_s: float, doing: str) -> None:
        conn, proc = self.conns[e - 1], self.procs[e - 1]
        end = time.monotonic() + deadline_s
        if not _spin(conn, SPIN_S):
            while not conn.poll(0.5):
                if not proc.is_alive():
                    raise ExecutorFailed(self._exited(e, doing))
                if time.monotonic() > end:
                    raise ExecutorFailed(
                        f"simulator executor {e} (pid {proc.pid}) gave no answer within {deadline_s:.0f} s while {doing}."
                    )
        try:
            kind, body = conn.recv()
        except EOFError:
            proc.join(5)  # a closed pipe is mostly a dead worker: name its exit code
            raise ExecutorFailed(self._exited(e, doing)) from None
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

    def partial_sums(self, jobs: list[ExecutorJob], starts: torch.Tensor, task: TrainingTask) -> list[torch.Tensor]:
        import torch

        slot_of = self._slot_rows(starts, task)
        n_units = max((int(job.units.max()) + 1 for job in jobs), default=0)
        if n_units > self.results.rows:  # more units than rows: a bigger table (the workers open it by name)
            self.results.close(unlink=True)
            self.results = _Table(2 * n_units, self.size)
        workers = [job for job in jobs if job.executor > 0]
        for job in workers:
            slotted = job.with_slots(slot_of)
            body = (self.models.spec(), self.results.spec(), slotted, task.lr, task.epochs, task.batch_size, task.seed_key)
            self._send(job.executor, ("job", body), "taking a job")
        mine = {job.executor: torch.stack(unit_sums(self.leader, job, starts, task)) for job in jobs if job.executor == 0}
        for job in workers:
            self._wait(job.executor, "done", self.deadline_s, f"training aggregation {task.seed_key[-1]}")
        # fancy indexing: a copy
        return [mine[0] if job.executor == 0 else torch.from_numpy(self.results.array[job.units]) for job in jobs]

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
