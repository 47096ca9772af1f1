"""The local CPU farm: this machine, optionally split into emulated device classes.

Each (model, device) benchmark runs the reference benchmark app in a fresh worker process; the
parent samples it with psutil. A device class pins CPU affinity, a thread count and a memory limit
so one machine can stand in for a small heterogeneous farm.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from ..bench.sampler import MIN_CPU_WINDOW_S, ProcessSampler
from ..core.contract import ContractError, fail, merge_device_result
from ..core.errors import ConfigError
from .base import BenchJob, Check, Device, Farm


@dataclass
class DeviceClass:
    name: str
    threads: int | None = None
    cpu_affinity: list[int] | None = None
    memory_limit_mb: float | None = None


@dataclass
class LocalSettings:
    devices: list[DeviceClass] = field(default_factory=list)  # empty: the whole machine as one device
    sample_hz: float = 20.0

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
            if d.threads is not None and d.threads < 1:
                raise ConfigError(file, f"{key}.threads", "must be at least 1")
        if self.sample_hz < 10:
            raise ConfigError(file, f"{prefix}sample_hz", "must be at least 10 (the harness samples at >= 10 Hz)")


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

    def devices(self) -> list[Device]:
        base = dict(
            farm=self.name,
            manufacturer=platform.system(),
            model=platform.node() or "localhost",
            soc=_soc(),
            os=platform.system(),
            os_version=platform.release(),
            abi=platform.machine(),
            emulator=False,
        )
        total_mb = psutil.virtual_memory().total / 2**20
        classes = self.settings.devices or [DeviceClass(name="local-cpu")]
        return [
            Device(
                id=c.name,
                cores=len(c.cpu_affinity) if c.cpu_affinity else os.cpu_count(),
                memory_mb=round(min(total_mb, c.memory_limit_mb or total_mb), 1),
                device_class=c.name,
                handle={"class": c},
                **base,
            )
            for c in classes
        ]

    def doctor(self) -> list[Check]:
        import executorch  # noqa: F401 - the check is that it imports

        return [
            Check("executorch", True, "ExecuTorch training runtime imports"),
            Check("cpus", True, f"{os.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.1f} GiB memory"),
        ]

    def run(self, device: Device, job: BenchJob) -> dict:
        record = job.blank_record(device)
        cls: DeviceClass = device.handle["class"]
        with tempfile.TemporaryDirectory(prefix="flint-local-") as tmp:
            spec_path, result_path = Path(tmp) / "spec.json", Path(tmp) / "result.json"
            spec = job.spec(str(job.training_artifact), str(job.data_file), str(job.artifacts.path("onnx")), threads=cls.threads)
            spec_path.write_text(json.dumps(spec))
            env = os.environ | ({"OMP_NUM_THREADS": str(cls.threads)} if cls.threads else {})
            # pin before exec, so every thread the runtime starts later inherits the affinity
            pin = (lambda: os.sched_setaffinity(0, cls.cpu_affinity)) if cls.cpu_affinity else None
            proc = subprocess.Popen(
                [sys.executable, "-m", "flint_bench.bench.worker", str(spec_path), str(result_path)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                preexec_fn=pin,
            )
            outcome = self._supervise(proc, job.settings.timeout_s, cls.memory_limit_mb, record)
            if outcome is not None:
                return outcome
            if not result_path.is_file():
                return fail(
                    record, "crash", f"the worker exited with code {proc.returncode} without a result: {self._stderr_tail}"
                )
            try:
                device_result = json.loads(result_path.read_text())
                merge_device_result(record, device_result)
            except (ContractError, json.JSONDecodeError) as e:
                return fail(record, "invalid-result", f"the worker's result is not valid: {e}")
        baseline, peak = device_result["memory"]["baseline_mb"], record["memory"]["peak_mb"]
        if baseline is not None and peak is not None:
            record["memory"].update(baseline_mb=baseline, peak_delta_mb=max(0.0, peak - baseline))
        return record

    def _supervise(self, proc: subprocess.Popen, timeout_s: float, memory_limit_mb: float | None, record: dict) -> dict | None:
        """Follow the worker's phases, sample it, enforce timeout and memory limit; fill cpu/memory."""
        stderr: list[str] = []
        threading.Thread(target=lambda: stderr.extend(proc.stderr), daemon=True).start()
        deadline = time.monotonic() + timeout_s
        with ProcessSampler(proc.pid, self.settings.sample_hz) as sampler:
            watchdog = threading.Thread(
                target=self._watch, args=(proc, sampler, deadline, timeout_s, memory_limit_mb), daemon=True
            )
            watchdog.start()
            for line in proc.stdout:
                if line.startswith("PHASE "):
                    sampler.mark(line.split()[1])
            proc.wait()
            watchdog.join()
        self._stderr_tail = "".join(stderr)[-2000:].strip()
        if getattr(proc, "flint_killed", None):
            return fail(record, *proc.flint_killed)
        s = sampler.training
        if s.rss_mb:
            mean = s.mean_cpu_percent
            method = (
                f"psutil: mean = worker CPU time / wall time over training; max over {self.settings.sample_hz:g} Hz samples; 100 = one core"
                if mean is not None
                else f"not measured: training took {s.wall_seconds * 1000:.0f} ms, under the {MIN_CPU_WINDOW_S * 1000:.0f} ms CPU clock can resolve"
            )
            record["cpu"] = {
                "mean_percent": mean,
                "max_percent": max(s.cpu_percent, default=mean),
                "samples": len(s.cpu_percent),
                "method": method,
            }
            record["memory"] = {
                "peak_mb": max(s.rss_mb),
                "baseline_mb": None,
                "peak_delta_mb": None,
                "method": "rss (psutil) peak during training; delta = peak - RSS just before loading the model",
            }
        return None

    @staticmethod
    def _watch(
        proc: subprocess.Popen, sampler: ProcessSampler, deadline: float, timeout_s: float, memory_limit_mb: float | None
    ) -> None:
        while proc.poll() is None:
            if time.monotonic() > deadline:
                proc.flint_killed = ("timeout", f"no result within timeout_s = {timeout_s:g} s; the worker was killed")
            elif memory_limit_mb and sampler.peak_rss_mb > memory_limit_mb:
                proc.flint_killed = (
                    "memory-limit",
                    f"the worker used {sampler.peak_rss_mb:.0f} MB RSS, over this device class's memory_limit_mb = {memory_limit_mb:g}",
                )
            if getattr(proc, "flint_killed", None):
                proc.kill()
                return
            time.sleep(0.05)
