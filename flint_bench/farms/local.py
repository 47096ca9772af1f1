"""The local CPU farm: this machine, optionally split into emulated device classes.

Each (model, device) benchmark runs the reference benchmark app in a fresh worker process; the
parent samples it with psutil. A device class pins CPU affinity, ExecuTorch's thread count, a CPU
bandwidth cap (bench/cpucap.py: cgroup cpu.max, else duty cycling) and a memory limit, so one
machine stands in for a small heterogeneous farm (docs/local-farm.md).
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import psutil

from ..bench.cpucap import CpuCap, Hierarchy, find_hierarchy, remove_leftovers
from ..bench.energy import energy_section
from ..bench.sampler import MIN_CPU_WINDOW_S, ProcessSampler, Samples
from ..core.config import Annotated, Interval
from ..core.contract import ContractError, FailureKind, fail, merge_device_result
from ..core.errors import ConfigError
from ..core.records import Record
from ..core.units import bytes_to_mib
from .base import BenchJob, Check, Device, Farm
from .sections import cpu_section, machine_section, memory_section, set_baseline


@dataclass
class DeviceClass:
    """A slice of this machine that stands in for one kind of phone: `platform` and `tier` say which
    (the device mapping matches user devices of that platform and tier to this class's profile)."""

    name: str
    platform: Literal["Android", "iOS"] = "Android"
    tier: Literal["low", "mid", "high"] | None = None  # None: stands for no tier, maps no user device by attributes
    threads: Annotated[int, Interval(ge=1, le=1024)] | None = None  # ExecuTorch's thread pool (None: one per core)
    cpu_affinity: list[int] | None = None
    # CPU bandwidth in cores (0.25 = a quarter of one core): CPU time per 100 ms period, enforced by
    # cgroup cpu.max where writable, else by duty cycling the worker; None: no cap
    cpu_max: Annotated[float, Interval(gt=0, le=1024)] | None = None
    memory_limit_mb: Annotated[float, Interval(gt=0, le=16 * 2**20)] | None = None  # up to 16 TiB

    @property
    def usable_cpus(self) -> int:
        """CPUs the worker can keep busy: its affinity, and no more than its threads."""
        cpus = len(self.cpu_affinity) if self.cpu_affinity else os.cpu_count() or 1
        return min(cpus, self.threads or cpus)

    @property
    def cores(self) -> float:
        """The compute this class has, in cores: its usable CPUs, capped by cpu_max."""
        return min(self.cpu_max or math.inf, self.usable_cpus)


@dataclass
class LocalSettings:
    devices: list[DeviceClass] = field(default_factory=list)  # empty: the whole machine as one device
    sample_hz: Annotated[float, Interval(ge=10, le=1000)] = 20.0  # the harness samples at >= 10 Hz

    def validate(self, file: str, prefix: str) -> None:
        cpus = os.cpu_count() or 1
        names = set()
        for i, d in enumerate(self.devices):
            key = f"{prefix}devices[{i}]"
            if d.name in names:
                raise ConfigError(file, f"{key}.name", f"duplicate device name {d.name!r}")
            names.add(d.name)
            for cpu in d.cpu_affinity or []:
                if not 0 <= cpu < cpus:
                    raise ConfigError(
                        file, f"{key}.cpu_affinity", f"CPU {cpu} does not exist here (this machine has CPUs 0..{cpus - 1})"
                    )


@dataclass
class Supervision:
    """What supervising one worker process found."""

    exit_code: int
    stopped: tuple[FailureKind, str] | None  # why the harness killed the worker (timeout, memory limit)
    stderr_tail: str
    training: Samples  # the samples of its training phase
    cpu_cap: str | None = None  # how the class's CPU cap was enforced


class _Watchdog(threading.Thread):
    """Kills the worker past its deadline or over its memory limit, and remembers why."""

    def __init__(
        self, proc: subprocess.Popen[str], sampler: ProcessSampler, timeout_s: float, memory_limit_mb: float | None
    ) -> None:
        super().__init__(daemon=True)
        self.proc, self.sampler, self.timeout_s, self.memory_limit_mb = proc, sampler, timeout_s, memory_limit_mb
        self.deadline = time.monotonic() + timeout_s
        self.reason: tuple[FailureKind, str] | None = None

    def run(self) -> None:
        while self.proc.poll() is None:
            if time.monotonic() > self.deadline:
                self.reason = (FailureKind.TIMEOUT, f"no result within timeout_s = {self.timeout_s:g} s; the worker was killed")
            elif self.memory_limit_mb and self.sampler.peak_rss_mb > self.memory_limit_mb:
                self.reason = (
                    FailureKind.MEMORY_LIMIT,
                    f"the worker used {self.sampler.peak_rss_mb:.0f} MB RSS, over this device class's memory_limit_mb = {self.memory_limit_mb:g}",
                )
            if self.reason is not None:
                self.proc.kill()
                return
            time.sleep(0.05)


def supervise(proc: subprocess.Popen[str], timeout_s: float, memory_limit_mb: float | None, sample_hz: float) -> Supervision:
    """Follow the worker's phases, sample it, enforce its timeout and memory limit until it exits."""
    assert proc.stdout is not None and proc.stderr is not None  # both are pipes
    stderr: list[str] = []
    threading.Thread(target=stderr.extend, args=(proc.stderr,), daemon=True).start()
    with ProcessSampler(proc.pid, sample_hz) as sampler:
        watchdog = _Watchdog(proc, sampler, timeout_s, memory_limit_mb)
        watchdog.start()
        for line in proc.stdout:
            if line.startswith("PHASE "):
                sampler.mark(line.split()[1])
        exit_code = proc.wait()
        watchdog.join()
    return Supervision(exit_code, watchdog.reason, "".join(stderr)[-2000:].strip(), sampler.training)


TEMP_PREFIX = "flint-local-"  # + the pid of the run: a folder whose run is gone is a leftover
PR_SET_PDEATHSIG = 1  # prctl(2)


def tie_to_parent(parent: int) -> None:
    """In the worker, before exec: the kernel kills it when the run dies (even by kill -9), so no
    worker outlives its run. Linux only; elsewhere close() and the timeout still stop it."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the run died before the signal was armed
            os._exit(1)


def remove_dead_runs_folders() -> None:
    """Remove the temp folders of earlier runs that died before cleaning up (their pid is gone)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{TEMP_PREFIX}*-*"):
        pid = folder.name[len(TEMP_PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and not psutil.pid_exists(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _soc() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


class LocalFarm(Farm):
    kind = "local"
    settings_class = LocalSettings
    parallel = False  # the device classes share this machine's CPU: never measure two at once
    settings: LocalSettings

    def __init__(self, name: str, settings: LocalSettings, config_path: Path | None = None):
        super().__init__(name, settings, config_path)
        remove_dead_runs_folders()
        self._cgroups: Hierarchy | None = find_hierarchy() if any(c.cpu_max for c in settings.devices) else None
        remove_leftovers(self._cgroups)
        self._workers: set[subprocess.Popen[str]] = set()
        self._workers_lock = threading.Lock()

    def devices(self) -> list[Device]:
        total_mb = bytes_to_mib(psutil.virtual_memory().total)
        classes = self.settings.devices or [DeviceClass(name="local-cpu")]
        return [
            Device(
                id=c.name,
                farm=self.name,
                manufacturer=platform.system(),
                model=platform.node() or "localhost",
                soc=_soc(),
                os=platform.system(),
                os_version=platform.release(),
                abi=platform.machine(),
                emulator=False,
                cores=len(c.cpu_affinity) if c.cpu_affinity else os.cpu_count(),
                memory_mb=round(min(total_mb, c.memory_limit_mb or total_mb), 1),
                device_class=c.name,
                platform=c.platform,
                tier=c.tier,
                handle={"class": c},
            )
            for c in classes
        ]

    def doctor(self) -> list[Check]:
        import executorch  # noqa: F401 - the check is that it imports

        return [
            Check("executorch", True, "ExecuTorch training runtime imports"),
            Check("cpus", True, f"{os.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.1f} GiB memory"),
        ]

    def run(self, device: Device, job: BenchJob) -> Record:
        record = job.blank_record(device)
        cls: DeviceClass = device.handle["class"]
        with tempfile.TemporaryDirectory(prefix=f"{TEMP_PREFIX}{os.getpid()}-") as tmp:
            spec_path, result_path = Path(tmp) / "spec.json", Path(tmp) / "result.json"
            spec = job.spec(str(job.training_artifact), str(job.data_file), str(job.artifacts.path("onnx")), threads=cls.threads)
            spec_path.write_text(json.dumps(spec))
            sustained_s = job.settings.sustained_minutes * 60 if job.settings.sustained_minutes else None
            # the sustained phase comes on top of the benchmark the timeout is meant for
            timeout_s = job.settings.timeout_s + (sustained_s or 0)
            supervision = self._run_worker(spec_path, result_path, cls, timeout_s, sustained_s)
            if supervision.cpu_cap is not None:
                # conditions: how this class was slowed down
                record["conditions"]["cpu_cap"] = supervision.cpu_cap
            if supervision.stopped is not None:
                return fail(record, *supervision.stopped)
            self._fill_samples(record, supervision.training)
            if not result_path.is_file():
                return fail(
                    record,
                    FailureKind.CRASH,
                    f"the worker exited with code {supervision.exit_code} without a result: {supervision.stderr_tail}",
                )
            try:
                device_result = json.loads(result_path.read_text())
                merge_device_result(record, device_result)
            except (ContractError, json.JSONDecodeError) as e:
                return fail(record, FailureKind.INVALID_RESULT, f"the worker's result is not valid: {e}")
        set_baseline(record["memory"], device_result["memory"]["baseline_mb"])
        return record

    def _run_worker(
        self, spec_path: Path, result_path: Path, cls: DeviceClass, timeout_s: float, sustained_s: float | None = None
    ) -> Supervision:
        env = os.environ | ({"OMP_NUM_THREADS": str(cls.threads)} if cls.threads else {})
        affinity = cls.cpu_affinity
        cap = CpuCap(cls.cpu_max, cls.usable_cpus, hierarchy=self._cgroups) if cls.cpu_max else None
        parent = os.getpid()

        def before_exec() -> None:
            tie_to_parent(parent)
            if affinity:  # pin before exec, so every thread the runtime starts later inherits the affinity
                os.sched_setaffinity(0, affinity)
            if cap is not None:  # likewise the CPU cap's group
                cap.join()

        args = [sys.executable, "-m", "flint_bench.bench.worker", str(spec_path), str(result_path)]
        try:
            proc = subprocess.Popen(
                args + (["--sustained-s", repr(sustained_s)] if sustained_s else []),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                preexec_fn=before_exec,
            )
            if cap is not None:
                cap.attach(proc.pid)
            with self._workers_lock:
                self._workers.add(proc)
            try:
                supervision = supervise(proc, timeout_s, cls.memory_limit_mb, self.settings.sample_hz)
            finally:
                with self._workers_lock:
                    self._workers.discard(proc)
        finally:
            if cap is not None:
                cap.close()  # the worker has exited (or never started): remove its group
        supervision.cpu_cap = cap.method if cap is not None else None
        return supervision

    def _fill_samples(self, record: Record, s: Samples) -> None:
        if not s.rss_mb:
            return
        mean = s.mean_cpu_percent
        method = (
            f"psutil: mean = worker CPU time / wall time over training; max over {self.settings.sample_hz:g} Hz samples; 100 = one core"
            if mean is not None
            else f"not measured: training took {s.wall_seconds * 1000:.0f} ms, under the {MIN_CPU_WINDOW_S * 1000:.0f} ms CPU clock can resolve"
        )
        record["cpu"] = cpu_section(s.cpu_percent, method, mean)
        record["energy"] = energy_section(*(s.rapl or (None, None)))
        record["memory"] = memory_section(
            max(s.rss_mb), "rss (psutil) peak during training; delta = peak - RSS just before loading the model"
        )
        freq = psutil.cpu_freq()  # None where the OS does not say (some VMs, containers)
        record["machine"] = machine_section(
            busy_seconds=s.machine_busy_seconds,
            own_cpu_seconds=s.cpu_seconds,
            steal_seconds=s.steal_seconds,
            wall_seconds=s.wall_seconds,
            load_1min=s.load_1min,
            cpus=psutil.cpu_count() or 1,
            cpu_freq_mhz=freq.current if freq else None,
        )

    def close(self) -> None:
        """Kill benchmark workers still running (an interrupted run)."""
        with self._workers_lock:
            for proc in self._workers:
                proc.kill()
