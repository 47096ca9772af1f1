"""Host-side sampling of a benchmark process with psutil, tagged by the phase the worker announces."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from ..core.units import bytes_to_mib
from .energy import RaplReading, read_rapl

# CPU time advances in 10 ms clock ticks: a shorter phase cannot be measured honestly
MIN_CPU_WINDOW_S = 0.05


@dataclass
class Samples:
    cpu_percent: list[float] = field(default_factory=list)  # periodic samples, 100 = one core busy
    rss_mb: list[float] = field(default_factory=list)
    cpu_seconds: float = 0.0  # CPU time the process used during the phase
    wall_seconds: float = 0.0
    # the whole machine over the same phase, to tell the worker's time from everyone else's
    machine_busy_seconds: float | None = None  # CPU-seconds all processes used, summed over CPUs
    steal_seconds: float | None = None  # CPU-seconds the hypervisor gave other guests (Linux VMs)
    load_1min: tuple[float, float] | None = None  # (start, end)
    rapl: tuple[RaplReading | str, RaplReading | str] | None = None  # energy counters (start, end) or why not

    @property
    def mean_cpu_percent(self) -> float | None:
        """CPU time over wall time across the whole phase: exact for phases shorter than a sample
        interval, where per-sample percentages are dominated by the 10 ms clock tick."""
        return 100.0 * self.cpu_seconds / self.wall_seconds if self.wall_seconds >= MIN_CPU_WINDOW_S else None


def cpu_seconds(pid: int) -> float:
    """CPU time the live threads of `pid` have run, from the scheduler's nanosecond counters
    (Linux): exact over short windows, where /proc/<pid>/stat's 10 ms ticks make a 50 ms sample
    read up to 20 % high or low (a one-core worker "at 119 %")."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue  # a thread that just exited
    return total / 1e9


def machine_times() -> tuple[float, float | None]:
    """(busy CPU-seconds of the whole machine, steal CPU-seconds or None where not reported).
    Busy: user + nice + system + irq + softirq (guest time is already inside user and nice)."""
    t = psutil.cpu_times()
    busy = sum(getattr(t, f, 0.0) for f in ("user", "nice", "system", "irq", "softirq"))
    return busy, getattr(t, "steal", None)


def load_1min() -> float:
    return psutil.getloadavg()[0]


class ProcessSampler:
    """Samples CPU % and RSS of `pid` at `hz` on a thread; only samples taken while `phase` is
    'train_start' count, so process start-up and imports do not blur the training figures."""

    def __init__(self, pid: int, hz: float = 20.0):
        self.process = psutil.Process(pid)
        self.interval = 1.0 / hz
        self.phase = "startup"
        self.training = Samples()
        self.peak_rss_mb = 0.0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._phase_start = (time.monotonic(), 0.0)
        self._machine_start: tuple[tuple[float, float | None], float] = ((0.0, None), 0.0)
        self._rapl_start: RaplReading | str = "the training phase was not observed"
        self._last_cpu: tuple[float, float] | None = None  # (monotonic, CPU seconds) at the previous sample
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> ProcessSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def mark(self, phase: str) -> None:
        """The worker entered `phase`: take a memory sample and the CPU-time reading that bounds
        the training phase, so even a phase shorter than one interval is measured."""
        with self._lock:
            try:
                times, rss = self.process.cpu_times(), bytes_to_mib(self.process.memory_info().rss)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                return
            now, cpu = time.monotonic(), times.user + times.system
            self.peak_rss_mb = max(self.peak_rss_mb, rss)
            if phase == "train_start":
                self._phase_start = (now, cpu)
                self._machine_start = (machine_times(), load_1min())
                self._rapl_start = read_rapl()
            elif self.phase == "train_start":
                self.training.rss_mb.append(rss)
                self.training.wall_seconds = now - self._phase_start[0]
                self.training.cpu_seconds = cpu - self._phase_start[1]
                (busy0, steal0), load0 = self._machine_start
                busy, steal = machine_times()
                self.training.machine_busy_seconds = busy - busy0
                self.training.steal_seconds = steal - steal0 if steal is not None and steal0 is not None else None
                self.training.load_1min = (load0, load_1min())
                self.training.rapl = (self._rapl_start, read_rapl())
            self.phase = phase

    def _cpu_percent(self) -> float:
        """CPU % since the previous sample: from nanosecond counters where the OS has them."""
        try:
            now, cpu = time.monotonic(), cpu_seconds(self.process.pid)
        except OSError:
            return float(self.process.cpu_percent(None))  # not Linux: psutil's tick-based figure
        last, self._last_cpu = self._last_cpu, (now, cpu)
        if last is None or now <= last[0]:
            return 0.0
        return max(0.0, 100.0 * (cpu - last[1]) / (now - last[0]))  # a thread that exited lowers the sum: not below 0

    def sample(self) -> None:
        with self._lock:
            try:
                with self.process.oneshot():
                    cpu, rss = self._cpu_percent(), bytes_to_mib(self.process.memory_info().rss)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                return
            self.peak_rss_mb = max(self.peak_rss_mb, rss)
            if self.phase == "train_start":
                self.training.cpu_percent.append(cpu)
                self.training.rss_mb.append(rss)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def rss_mb(self) -> float:
        return bytes_to_mib(self.process.memory_info().rss)
