"""Host-side sampling of a benchmark process with psutil, tagged by the phase the worker announces."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import psutil


@dataclass
class Samples:
    cpu_percent: list[float] = field(default_factory=list)  # per sample, 100 = one core busy
    rss_mb: list[float] = field(default_factory=list)


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
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> "ProcessSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def mark(self, phase: str) -> None:
        """The worker entered `phase`: sample now, so even a training phase shorter than one
        interval gets a sample covering it (cpu_percent measures since the previous sample)."""
        self.sample()
        self.phase = phase

    def sample(self) -> None:
        with self._lock:
            try:
                with self.process.oneshot():
                    cpu, rss = self.process.cpu_percent(None), self.process.memory_info().rss / 2**20
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
        return self.process.memory_info().rss / 2**20


