"""Host-side sampling of the benchmark app over adb: CPU % from /proc/<pid>/stat, PSS from dumpsys."""

from __future__ import annotations

import shlex
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Self

from ...core.units import kib_to_mib
from .connection import ShellResult
from .parsers import parse_proc_stat_ticks, parse_pss_kb, parse_thermal_status

JOIN_TIMEOUT_S = 2.0
CLK_TCK = 100  # USER_HZ on every Android kernel (and Linux): /proc/<pid>/stat times are in 1/100 s


class AppSampler:
    """Samples the app process (found with pidof) on a thread while the benchmark runs."""

    def __init__(
        self,
        shell: Callable[[str], ShellResult],
        package: str,
        hz: float,
        pss_interval_s: float,
        thermal_interval_s: float | None = None,
    ):
        self.shell, self.package, self.interval, self.pss_interval = shell, package, 1.0 / hz, pss_interval_s
        self.thermal_interval = thermal_interval_s  # None: no thermal sampling (only sustained runs need it)
        self.thermal: list[tuple[float, int]] = []  # (monotonic time, Android thermal status)
        self.pid: int | None = None
        self.seen = False
        self.gone = False  # the process was seen and has exited
        self.cpu: list[float] = []
        self.pss_mb: list[float] = []
        self.error: Exception | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None) -> None:
        self._stop.set()
        # a sample in flight on a frozen phone ends at its own deadline; the benchmark need not wait for it
        self._thread.join(timeout=JOIN_TIMEOUT_S)

    def _loop(self) -> None:
        from adbutils import AdbError

        try:
            self._sample_until_stopped()
        except (AdbError, TimeoutError) as e:
            self.error = e

    def _sample_until_stopped(self) -> None:
        last: tuple[int, float] | None = None
        next_pss = next_thermal = 0.0
        while not self._stop.is_set():
            t0 = time.monotonic()
            if self.thermal_interval is not None and t0 >= next_thermal:
                status = parse_thermal_status(self.shell("dumpsys thermalservice").stdout)
                if status is not None:
                    self.thermal.append((t0, status))
                next_thermal = t0 + self.thermal_interval
            if self.pid is None:
                out = self.shell(f"pidof {shlex.quote(self.package)}").stdout.split()
                if out and out[0].isdigit():
                    self.pid, self.seen = int(out[0]), True
            else:
                want_pss = t0 >= next_pss
                res = self.shell(f"cat /proc/{self.pid}/stat" + (f" && dumpsys meminfo {self.pid}" if want_pss else ""))
                ticks = parse_proc_stat_ticks(res.stdout.split("\n", 1)[0]) if res.returncode == 0 else None
                now = time.monotonic()
                if ticks is None:
                    self.gone, self.pid = True, None
                    return
                if last is not None and now > last[1]:
                    self.cpu.append(100.0 * (ticks - last[0]) / CLK_TCK / (now - last[1]))
                last = (ticks, now)
                if want_pss and (kb := parse_pss_kb(res.stdout)) is not None:
                    self.pss_mb.append(kib_to_mib(kb))
                    next_pss = t0 + self.pss_interval
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - t0)))
