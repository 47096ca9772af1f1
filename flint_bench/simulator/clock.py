"""The virtual clock: event-driven schedulers for FedAvg (rounds) and FedBuff (a priority queue of events).

Both decide the *system* outcome of every client task (succeeded / interrupted / stale) before any
training happens, and hand out one `Aggregation` at a time: which clients' updates the server
applies, and on which model version each client started. Selection = the earliest-checked-in
session still open at the current virtual time whose device is idle; a device busy with a task is
never selected again; a session ending during a task interrupts it at the session's end.
"""

from __future__ import annotations

import bisect
import heapq
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .population import SessionStream


@dataclass
class Counters:
    rounds: int = 0
    aggregations: int = 0
    started: int = 0
    succeeded: int = 0  # uploaded and aggregated
    interrupted: int = 0  # the device's session ended during the task
    timed_out: int = 0  # FedBuff: the server aborted a task running longer than task_timeout_s
    stale: int = 0  # FedBuff: uploaded but staler than the limit; FedAvg: stragglers cancelled at round close
    uploads: int = 0  # updates the aggregator received (succeeded + FedBuff stale)
    compute_s: float = 0.0  # Σ device seconds spent on tasks, wasted ones included
    compute_s_by_class: list[float] = field(default_factory=list)
    uploads_per_hour: list[int] = field(default_factory=list)  # histogram over virtual hours, for the forecast

    def snapshot(self) -> dict[str, float]:
        return {
            "rounds": self.rounds,
            "aggregations": self.aggregations,
            "tasks_started": self.started,
            "tasks_succeeded": self.succeeded,
            "tasks_interrupted": self.interrupted,
            "tasks_timed_out": self.timed_out,
            "tasks_stale": self.stale,
            "uploads": self.uploads,
            "client_compute_s": self.compute_s,
        }

    def upload_at(self, t: float) -> None:
        self.uploads += 1
        h = int(t // 3600.0)
        hist = self.uploads_per_hour
        if h >= len(hist):
            hist.extend([0] * (h + 1 - len(hist)))
        hist[h] += 1


@dataclass
class Aggregation:
    index: int  # 0-based; the model version after it is index + 1
    time_s: float
    clients: np.ndarray  # client ids whose updates are applied
    start_versions: np.ndarray  # the model version each client trained on
    staleness: np.ndarray


class _Base:
    def __init__(self, stream: SessionStream, n_devices: int, n_classes: int):
        self.stream, self.now = stream, 0.0
        self.busy = np.zeros(n_devices, dtype=bool)
        self.c = Counters(compute_s_by_class=[0.0] * n_classes)
        self._chunk: tuple[list[Any], ...] | None = None  # the current SessionChunk as Python lists
        self._i = 0
        self.exhausted = False
        self._refill()

    def _refill(self) -> bool:
        chunk = self.stream.next_chunk()
        while chunk is not None and len(chunk[0]) == 0:  # a loop, not recursion: many empty chunks in a row are fine
            chunk = self.stream.next_chunk()
        if chunk is None:
            self.exhausted = True
            self._chunk = None
            return False
        self._chunk = tuple(a.tolist() for a in chunk)  # Python lists: faster scalar access in the hot loop
        self._i = 0
        return True

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """What changes as the clock runs, for checkpoints: JSON-able values and numpy arrays."""
        meta = {
            "now": self.now,
            "i": self._i,
            "exhausted": self.exhausted,
            "has_chunk": self._chunk is not None,
            "counters": asdict(self.c),
            "stream": self.stream.state(),
        }
        arrays = {"busy": self.busy}
        if self._chunk is not None:  # compact arrays, not 5 x 65k Python objects
            arrays |= {f"chunk{k}": np.asarray(a) for k, a in enumerate(self._chunk)}
        return meta, arrays

    def restore(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Continue from `state()` of a scheduler built from the same config; a mismatch is a ValueError."""
        if arrays["busy"].shape != self.busy.shape:
            raise ValueError(f"{len(arrays['busy'])} devices saved, {len(self.busy)} in this config")
        self.busy = arrays["busy"].astype(bool)
        self.now, self._i, self.exhausted = float(meta["now"]), int(meta["i"]), bool(meta["exhausted"])
        self.c = Counters(**meta["counters"])
        self._chunk = tuple(arrays[f"chunk{k}"].tolist() for k in range(5)) if meta["has_chunk"] else None
        self.stream.restore(meta["stream"])

    def _peek_start(self) -> float:
        """Start time of the next unconsumed session (inf when the trace is exhausted)."""
        if self._chunk is None:
            return math.inf
        if self._i >= len(self._chunk[0]) and not self._refill():
            return math.inf
        return self._chunk[0][self._i]


class FedBuffScheduler(_Base):
    """Asynchronous: keep `concurrency` tasks in flight; every `buffer` fresh-enough uploads make one aggregation."""

    def __init__(
        self,
        stream: SessionStream,
        n_devices: int,
        n_classes: int,
        concurrency: int,
        buffer: int,
        max_staleness: int,
        task_timeout_s: float | None = None,
    ):
        super().__init__(stream, n_devices, n_classes)
        self.concurrency, self.buffer, self.max_staleness = concurrency, buffer, max_staleness
        self.timeout = math.inf if task_timeout_s is None else task_timeout_s
        self.heap: list[tuple[float, int, int, int, float, int, int]] = []
        self.seq = 0
        self.version = 0
        self.buf_clients: list[int] = []
        self.buf_versions: list[int] = []

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta, arrays = super().state()
        # the event heap as a list in heap order: restored as is, it is still a heap
        meta |= {"heap": self.heap, "seq": self.seq, "version": self.version}
        meta |= {"buf_clients": self.buf_clients, "buf_versions": self.buf_versions}
        return meta, arrays

    def restore(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        super().restore(meta, arrays)
        self.heap = [
            (float(t), int(seq), int(dev), int(v), float(spent), int(cls), int(status))
            for t, seq, dev, v, spent, cls, status in meta["heap"]
        ]
        self.seq, self.version = int(meta["seq"]), int(meta["version"])
        self.buf_clients = [int(x) for x in meta["buf_clients"]]
        self.buf_versions = [int(x) for x in meta["buf_versions"]]

    def next_aggregation(self, until: float = math.inf) -> Aggregation | None:
        """The next aggregation, or None when sessions run out or the next event is after `until` (then now = until)."""
        heap, c, busy = self.heap, self.c, self.busy
        by_class = c.compute_s_by_class
        push, pop = heapq.heappush, heapq.heappop
        while True:
            # launch tasks on open sessions while there is concurrency to spare
            while len(heap) < self.concurrency:
                if self._chunk is None:
                    break
                if self._i >= len(self._chunk[0]) and not self._refill():
                    break
                starts, ends, devs, classes, durs = self._chunk
                i = self._i
                if starts[i] > self.now:
                    break
                self._i = i + 1
                end, dev = ends[i], devs[i]
                if end <= self.now or busy[dev]:
                    continue  # the check-in expired before the server had a slot, or the device is busy
                busy[dev] = True
                c.started += 1
                finish = self.now + durs[i]
                self.seq += 1
                # event status: 0 finished, 1 interrupted (session ended), 2 timed out (server abort)
                abort = self.now + self.timeout
                if finish > end and end <= abort:
                    push(heap, (end, self.seq, dev, self.version, end - self.now, classes[i], 1))
                elif finish > abort:
                    push(heap, (abort, self.seq, dev, self.version, self.timeout, classes[i], 2))
                else:
                    push(heap, (finish, self.seq, dev, self.version, durs[i], classes[i], 0))
            next_arrival = self._peek_start() if len(heap) < self.concurrency else math.inf
            if not heap and next_arrival == math.inf:
                return None
            if min(heap[0][0] if heap else math.inf, next_arrival) > until:
                self.now = until  # tasks still running (and buffered updates) stay uncounted beyond `started`
                return None
            if heap and heap[0][0] <= next_arrival:
                t, _, dev, v, spent, cls, status = pop(heap)
                self.now = t
                busy[dev] = False
                c.compute_s += spent
                by_class[cls] += spent
                if status:
                    if status == 1:
                        c.interrupted += 1
                    else:
                        c.timed_out += 1
                    continue
                c.upload_at(t)
                if self.version - v > self.max_staleness:
                    c.stale += 1
                    continue
                self.buf_clients.append(dev)
                self.buf_versions.append(v)
                if len(self.buf_clients) == self.buffer:
                    c.succeeded += self.buffer  # counted when aggregated: a partly filled buffer at the end is not
                    versions = np.array(self.buf_versions, dtype=np.int64)
                    agg = Aggregation(
                        self.version, t, np.array(self.buf_clients, dtype=np.int64), versions, self.version - versions
                    )
                    self.buf_clients, self.buf_versions = [], []
                    self.version += 1
                    c.aggregations += 1
                    c.rounds += 1
                    return agg
            else:
                self.now = next_arrival


class FedAvgScheduler(_Base):
    """Synchronous rounds: select ceil(cohort·overcommit) devices, aggregate the first `cohort` completions."""

    def __init__(
        self, stream: SessionStream, n_devices: int, n_classes: int, cohort: int, overcommit: float, deadline_s: float | None
    ):
        super().__init__(stream, n_devices, n_classes)
        self.cohort, self.n_select, self.deadline = cohort, math.ceil(cohort * overcommit - 1e-9), deadline_s
        self.version = 0

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta, arrays = super().state()
        return meta | {"version": self.version}, arrays

    def restore(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        super().restore(meta, arrays)
        self.version = int(meta["version"])

    def _select(self, t0: float, until: float) -> list[tuple[float, float, int, int, float]]:
        """Sessions for this round, in check-in order: (start time, session end, device, class, duration).

        Stops early, without consuming the check-in, once the round would already be closed when the
        next device checks in (`cohort` successes finished, the deadline, or `until`): that device
        is left for the next round.
        """
        chosen: list[tuple[float, float, int, int, float]] = []
        seen: set[int] = set()
        ok_finish: list[float] = []  # sorted finish times of the successes so far
        stop = min(until, t0 + self.deadline) if self.deadline is not None else until
        while len(chosen) < self.n_select:
            if self._chunk is None or (self._i >= len(self._chunk[0]) and not self._refill()):
                break
            starts, ends, devs, classes, durs = self._chunk
            i = self._i
            at = max(t0, starts[i])
            if at >= stop or (len(ok_finish) >= self.cohort and at >= ok_finish[self.cohort - 1]):
                break
            self._i = i + 1
            if ends[i] <= at or devs[i] in seen:
                continue
            seen.add(devs[i])
            chosen.append((at, ends[i], devs[i], classes[i], durs[i]))
            if at + durs[i] <= ends[i]:
                bisect.insort(ok_finish, at + durs[i])
        return chosen

    def next_aggregation(self, until: float = math.inf) -> Aggregation | None:
        """The next aggregation, or None when sessions run out or the round would close after `until`."""
        c = self.c
        while True:
            t0 = self.now
            if t0 >= until:
                return None
            chosen = self._select(t0, until)
            if not chosen:
                if t0 < until and self._peek_start() < math.inf:
                    self.now = min(until, t0 + self.deadline) if self.deadline is not None else until
                    continue  # a deadline passed before anyone checked in: an empty round
                return None
            at = np.array([x[0] for x in chosen])
            end = np.array([x[1] for x in chosen])
            dev = np.array([x[2] for x in chosen], dtype=np.int64)
            cls = np.array([x[3] for x in chosen], dtype=np.int64)
            finish = at + np.array([x[4] for x in chosen])
            ok = finish <= end
            event = np.where(ok, finish, end)
            ok_times = np.sort(finish[ok])
            close = ok_times[self.cohort - 1] if len(ok_times) >= self.cohort else event.max()
            if self.deadline is not None:
                close = min(close, t0 + self.deadline)
            if close > until:
                # the budget ends inside this round: count what started and what was interrupted by then
                began = at < until
                c.started += int(began.sum())
                c.interrupted += int((~ok & (end <= until) & began).sum())
                spent = np.clip(np.minimum(event, until) - at, 0, None)
                c.compute_s += float(spent.sum())
                for k, x in zip(cls.tolist(), spent.tolist(), strict=True):
                    c.compute_s_by_class[k] += x
                self.now = until
                return None
            c.rounds += 1
            began = at < close  # sessions picked while waiting for check-ins that came after the close never start
            c.started += int(began.sum())
            # the first `cohort` completions by the close are aggregated (ties broken by check-in order)
            done = ok & (finish <= close)
            used = np.flatnonzero(done)
            used = used[np.argsort(finish[used], kind="stable")][: self.cohort]
            aggregated = np.zeros(len(chosen), dtype=bool)
            aggregated[used] = True
            interrupted = ~ok & (end <= close)
            spent = np.where(aggregated, finish - at, np.where(interrupted, end - at, np.maximum(close, at) - at))
            c.succeeded += int(aggregated.sum())
            c.interrupted += int(interrupted.sum())
            c.stale += int((~aggregated & ~interrupted & began).sum())  # stragglers, cancelled at the close
            c.compute_s += float(spent.sum())
            for k, s in zip(cls.tolist(), spent.tolist(), strict=True):
                c.compute_s_by_class[k] += s
            for t in finish[aggregated].tolist():
                c.upload_at(t)
            self.now = float(close)
            if not aggregated.any():
                continue  # a failed round: nothing to aggregate, start the next one
            clients = dev[used]
            versions = np.full(len(clients), self.version, dtype=np.int64)
            agg = Aggregation(self.version, self.now, clients, versions, np.zeros(len(clients), dtype=np.int64))
            self.version += 1
            c.aggregations += 1
            return agg


Scheduler = FedAvgScheduler | FedBuffScheduler
