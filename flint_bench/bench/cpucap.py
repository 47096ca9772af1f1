"""A CPU bandwidth cap on one worker process, so an emulated device class is slower for real.

Three ways, the first that works here wins:

1. cgroup v2: a child group with `cpu.max = "<quota> <period>"` (needs the `cpu` controller in the
   parent's `cgroup.controllers` and a writable hierarchy, e.g. root).
2. cgroup v1: a child of the `cpu` hierarchy with `cpu.cfs_quota_us` / `cpu.cfs_period_us` (the same
   CFS bandwidth control; hybrid hosts have the `cpu` controller only here).
3. Duty cycling: a host thread SIGCONTs the worker at the start of every period, follows its CPU
   time (`/proc/<pid>/task/*/schedstat`, nanoseconds) and SIGSTOPs it once it has used its quota
   (`cores` x period) until the period ends; an overrun is paid back in the next period. The same
   accounting as CFS bandwidth control, at the host thread's polling granularity (1 ms), so it
   holds on a busy machine too (a fixed on/off cycle would give less than the quota there).

The worker joins its group before exec (`join`), so every thread it starts later is capped too.
Groups are named `flint-<run pid>-<n>`; a group whose run died is removed by `remove_leftovers`.
"""

from __future__ import annotations

import itertools
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .sampler import cpu_seconds

CGROUP_ROOT = Path("/sys/fs/cgroup")
PREFIX = "flint-"
POLL_S = 0.001  # how often the duty-cycling thread reads the worker's CPU time
_counter = itertools.count()


@dataclass(frozen=True)
class Hierarchy:
    version: int  # 1 or 2
    parent: Path  # where this process's child groups go


def _own_cgroup_paths() -> dict[str, str]:
    """controller (or '' for the v2 unified hierarchy) -> this process's group path."""
    paths = {}
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for c in controllers.split(",") if controllers else [""]:
                paths[c] = path
    except OSError:
        pass
    return paths


def _mounts() -> list[tuple[str, Path, set[str]]]:
    """(fstype, mount point, options) of the cgroup file systems."""
    found = []
    try:
        for line in Path("/proc/self/mounts").read_text().splitlines():
            _, point, fstype, options, *_ = line.split()
            if fstype in ("cgroup", "cgroup2"):
                found.append((fstype, Path(point), set(options.split(","))))
    except OSError:
        pass
    return found


def find_hierarchy() -> Hierarchy | None:
    """A writable cgroup with CPU bandwidth control that this process may create children in."""
    own = _own_cgroup_paths()
    for fstype, point, _options in _mounts():
        if fstype == "cgroup2":
            parent = point / own.get("", "/").lstrip("/")
            try:
                if "cpu" not in (parent / "cgroup.controllers").read_text().split():
                    continue
                if "cpu" not in (parent / "cgroup.subtree_control").read_text().split():
                    (parent / "cgroup.subtree_control").write_text("+cpu")
            except OSError:
                continue
            if os.access(parent, os.W_OK):
                return Hierarchy(2, parent)
    for fstype, point, options in _mounts():
        if fstype == "cgroup" and "cpu" in options:
            parent = point / own.get("cpu", "/").lstrip("/")
            if (parent / "cpu.cfs_quota_us").is_file() and os.access(parent, os.W_OK):
                return Hierarchy(1, parent)
    return None


class CpuCap:
    """The cap of one worker: create it, pass `join` to the worker's pre-exec hook, `attach(pid)`
    after start (duty cycling), and `close()` after the worker exits (also on failure)."""

    def __init__(self, cores: float, usable_cpus: int, period_s: float = 0.1, hierarchy: Hierarchy | None = None):
        if not (cores > 0 and usable_cpus >= 1 and period_s > 0):
            raise ValueError(f"bad CPU cap: {cores} cores over {usable_cpus} CPUs, period {period_s} s")
        self.cores, self.usable_cpus, self.period_s = cores, usable_cpus, period_s
        self.group: Path | None = None
        self.hierarchy = hierarchy
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.method = self._create()

    def _create(self) -> str:
        quota_us, period_us = max(1000, round(self.cores * self.period_s * 1e6)), round(self.period_s * 1e6)
        if self.hierarchy is not None:
            group = self.hierarchy.parent / f"{PREFIX}{os.getpid()}-{next(_counter)}"
            try:
                group.mkdir()
                self.group = group
                if self.hierarchy.version == 2:
                    (group / "cpu.max").write_text(f"{quota_us} {period_us}")
                    return f"cgroup v2 cpu.max = {quota_us} {period_us} ({self.cores:g} cores)"
                (group / "cpu.cfs_period_us").write_text(str(period_us))
                (group / "cpu.cfs_quota_us").write_text(str(quota_us))
                return f"cgroup v1 cpu.cfs_quota_us = {quota_us}, cpu.cfs_period_us = {period_us} ({self.cores:g} cores)"
            except OSError as e:
                self.close()
                reason = f"cgroup v{self.hierarchy.version} at {self.hierarchy.parent} not usable ({e.strerror or e})"
        else:
            reason = "no writable cgroup with CPU bandwidth control"
        if self.cores >= self.usable_cpus:
            return f"none needed: {self.cores:g} cores >= the {self.usable_cpus} CPUs the worker may use ({reason})"
        return (
            f"duty cycle (SIGSTOP/SIGCONT at its CPU-time quota): {quota_us / 1000:.0f} ms CPU per "
            f"{period_us / 1000:.0f} ms ({self.cores:g} cores); {reason}"
        )

    @property
    def duty_cycled(self) -> bool:
        return self.group is None and self.cores < self.usable_cpus

    def join(self) -> None:
        """In the worker, before exec: enter the group (a no-op when duty-cycled)."""
        if self.group is not None:
            (self.group / "cgroup.procs").write_text(str(os.getpid()))

    def attach(self, pid: int) -> None:
        """On the host, once the worker runs: start duty cycling it when there is no group."""
        if self.duty_cycled:
            self._thread = threading.Thread(target=self._cycle, args=(pid,), daemon=True)
            self._thread.start()

    def _cycle(self, pid: int) -> None:
        quota = self.cores * self.period_s
        try:
            used, debt = cpu_seconds(pid), 0.0
            while not self._stop.is_set():
                period_end = time.monotonic() + self.period_s
                start = used
                while debt + used - start < quota and time.monotonic() < period_end and not self._stop.is_set():
                    time.sleep(POLL_S)
                    used = cpu_seconds(pid)
                debt = max(0.0, debt + used - start - quota)
                if time.monotonic() < period_end:
                    os.kill(pid, signal.SIGSTOP)
                    try:
                        self._stop.wait(max(0.0, period_end - time.monotonic()))
                    finally:
                        os.kill(pid, signal.SIGCONT)
                used = cpu_seconds(pid)
        except (ProcessLookupError, FileNotFoundError):
            return  # the worker exited

    def close(self) -> None:
        """Stop cycling (the worker is left running) and remove the group; safe to call twice."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.group is not None:
            remove_group(self.group)
            self.group = None


def remove_group(group: Path, wait_s: float = 2.0) -> bool:
    """rmdir a group once its processes are gone (the kernel empties it a moment after exit)."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            group.rmdir()
            return True
        except FileNotFoundError:
            return True
        except OSError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)


def remove_leftovers(hierarchy: Hierarchy | None) -> None:
    """Remove the empty groups of runs that died before cleaning up (their pid is gone)."""
    if hierarchy is None:
        return
    for group in hierarchy.parent.glob(f"{PREFIX}*-*"):
        pid = group.name[len(PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and not _pid_alive(int(pid)):
            remove_group(group, wait_s=0)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
