"""The `adb` farm: Android phones over USB/TCP and Android emulators, through the adb server (adbutils).

Per benchmark, holding the phone's host-side lock (one benchmark at a time on a phone): install or
upgrade the benchmark app when its version differs, push spec + model + data into the app's storage,
cool down and wait out thermal throttling, wake and unlock the screen, reset batterystats, `am start`
the benchmark activity, sample the app process's CPU % (/proc/<pid>/stat) and PSS (dumpsys meminfo)
from the host, wait for the result file with a timeout, pull it, merge it into the record with the
app's energy and the phone's load, and clean up. Everything that reaches the device shell is quoted
with shlex.quote; every exchange has a deadline.
"""

from __future__ import annotations

import contextlib
import json
import shlex
import threading
import time
from pathlib import Path

from ...core.contract import ContractError, FailureKind, fail, merge_device_result
from ...core.records import Record
from ..base import BenchJob, Check, Device, DeviceLost, Farm
from ..sections import combine_memory, memory_section, sampled_cpu_section
from . import conditions
from .connection import AdbConnection
from .doctor import doctor
from .locks import DeviceBusy, device_lock
from .phone import EnergyMeter, PhoneLoad, wake_and_unlock, with_thermal
from .sampling import AppSampler
from .selection import select
from .settings import AdbSettings

CLEANUP_TIMEOUT_S = 5.0  # stopping the app after a failure: a frozen phone must not hold the run much longer
MIN_CHECK_S = 1.0  # the shortest deadline of one result check (a loaded adb server needs some time)


class AdbFarm(Farm):
    kind = "adb"
    settings_class = AdbSettings
    parallel = True  # each phone has its own CPU
    settings: AdbSettings

    def __init__(self, name: str, settings: AdbSettings, config_path: Path | None = None):
        super().__init__(name, settings, config_path)
        self.adb = AdbConnection(name, settings, config_path)
        self._app_ready: set[str] = set()  # serials whose app this farm has checked or installed
        self._lock = threading.Lock()

    def devices(self) -> list[Device]:
        return select(self.adb.all_devices()[0], self.settings)

    def doctor(self) -> list[Check]:
        return doctor(self.adb)

    def close(self) -> None:
        """Stop the adb server if this farm started it (`farm list` on a machine where none ran)."""
        self.adb.close()

    def run(self, device: Device, job: BenchJob) -> Record:
        from adbutils import AdbError, AdbTimeout

        record = job.blank_record(device)
        serial = device.handle.get("serial", device.id)
        s = self.settings
        try:
            with device_lock(f"{s.server_host}:{s.port}", serial, s.lock_wait_s or job.settings.timeout_s):
                return self._run(serial, job, record)
        except DeviceBusy as e:
            return fail(record, FailureKind.TIMEOUT, str(e))
        except (AdbTimeout, TimeoutError) as e:  # the phone stopped answering with its connection open
            return fail(record, FailureKind.TIMEOUT, f"{serial} stopped answering (no reply within adb.io_timeout_s): {e}")
        except AdbError as e:
            if self.adb.is_lost(serial):
                raise DeviceLost(f"{e} (adb no longer lists {serial} as a ready device)") from e
            return fail(record, FailureKind.ADB, f"{type(e).__name__}: {e}")

    def _ensure_app(self, serial: str) -> tuple[FailureKind, str] | None:
        """Install/upgrade once per device and farm run."""
        with self._lock:
            if serial in self._app_ready:
                return None
        problem = self.adb.install_app(serial)
        if problem is None:
            with self._lock:
                self._app_ready.add(serial)
        return problem

    def _run(self, serial: str, job: BenchJob, record: Record) -> Record:
        s, q = self.settings, shlex.quote
        if (problem := self._ensure_app(serial)) is not None:
            return fail(record, *problem)
        state, too_hot = conditions.prepare(self.adb, serial)
        record["conditions"] = state.section(s.cooldown_s)
        if too_hot:
            return fail(record, FailureKind.THERMAL, f"{serial}: {too_hot}")

        folder = s.storage
        spec_path, result_path = f"{folder}/spec.json", f"{folder}/result.json"
        device = self.adb.device(serial)
        self.adb.shell(serial, f"am force-stop {q(s.package)}; mkdir -p {q(folder)} && rm -f {q(result_path)}")
        spec = job.spec("model.pte", "data.npz")  # relative to the spec's folder (contract)
        device.sync.push(str(job.training_artifact), f"{folder}/model.pte")
        device.sync.push(str(job.data_file), f"{folder}/data.npz")
        device.sync.push(json.dumps(spec).encode(), spec_path)
        energy: EnergyMeter | None = None
        try:
            if problems := wake_and_unlock(self.adb, serial):
                record["extra"] = {"adb": {"screen": problems}}
            if s.measure_energy:
                energy = EnergyMeter(self.adb, serial, s.package, state.charging)
                energy.start()
            return self._launch_and_wait(serial, job, record, spec_path, result_path, energy)
        finally:
            cleanup = f"am force-stop {q(s.package)}"
            if not s.keep_files:
                cleanup += f"; rm -f {q(spec_path)} {q(result_path)} {q(folder + '/model.pte')} {q(folder + '/data.npz')}"
            with contextlib.suppress(Exception):  # the device may be gone or frozen; the record says why
                self.adb.shell(serial, cleanup, timeout=min(s.io_timeout_s, CLEANUP_TIMEOUT_S))
            with contextlib.suppress(Exception):
                if energy is not None:
                    energy.restore(timeout=min(s.io_timeout_s, CLEANUP_TIMEOUT_S))

    def _launch_and_wait(
        self, serial: str, job: BenchJob, record: Record, spec_path: str, result_path: str, energy: EnergyMeter | None
    ) -> Record:
        s, q = self.settings, shlex.quote
        device = self.adb.device(serial)
        load = PhoneLoad(self.adb, serial)
        minutes = job.settings.sustained_minutes
        # a sustained run trains on for `minutes` after the benchmark: its time comes on top of the timeout
        timeout = (s.result_timeout_s or job.settings.timeout_s) + (minutes or 0) * 60
        thermal_every = min(30.0, max(1.0, minutes * 6)) if minutes else None  # ~10 samples a run, at least every 30 s
        launch = f"am start -n {q(s.component)} --es spec {q(spec_path)} --es result {q(result_path)} --es run_id {q(job.run_id)}"
        if minutes:
            launch += f" --ef sustained_minutes {q(repr(float(minutes)))}"
        with AppSampler(
            lambda cmd: self.adb.shell(serial, cmd), s.package, s.sample_hz, s.pss_interval_s, thermal_every
        ) as sampler:
            # the run id travels beside the spec, so even a spec the app cannot read is answered under it
            out = self.adb.shell(serial, launch).output
            if "Error" in out or "Exception" in out:
                return fail(record, FailureKind.LAUNCH, f"`am start {s.component}` failed on {serial}: {out.strip()[-500:]}")
            problem = self._wait_for_result(serial, sampler, result_path, timeout)
            ended = time.monotonic()
            if problem is not None:
                return fail(record, *problem)
        record["machine"] = load.section(record["device"]["cores"])
        if energy is not None:
            record["energy"] = energy.section()
        try:
            result = json.loads(device.sync.read_text(result_path))
            merge_device_result(record, result)
        except (json.JSONDecodeError, UnicodeDecodeError, ContractError) as e:
            return fail(
                record, FailureKind.INVALID_RESULT, f"the app's result {result_path} on {serial} is not a valid result: {e}"
            )
        if minutes and thermal_every and result.get("sustained"):
            record["sustained"] = with_thermal(result["sustained"], sampler.thermal, ended, thermal_every)
        if result["run_id"] != job.run_id:  # another benchmark's result (a run the host lock did not see)
            return fail(
                record,
                FailureKind.INVALID_RESULT,
                f"the result in {result_path} on {serial} belongs to run {result['run_id']!r}, not this run {job.run_id!r}",
            )
        if sampler.cpu:
            record["cpu"] = sampled_cpu_section(
                sampler.cpu,
                f"/proc/<pid>/stat of the app process over adb at {s.sample_hz:g} Hz from launch to result; 100 = one core",
            )
        if sampler.pss_mb:
            record["memory"] = memory_section(
                max(sampler.pss_mb),
                f"pss: peak of `dumpsys meminfo <pid>` TOTAL PSS every {s.pss_interval_s:g} s from launch to result",
            )
        # the app's own PSS figures (Debug.getPss) are comparable with ours; an RSS baseline (the reference worker) is not
        combine_memory(record["memory"], result.get("memory") or {})
        return record

    def _wait_for_result(
        self, serial: str, sampler: AppSampler, result_path: str, timeout: float
    ) -> tuple[FailureKind, str] | None:
        """Poll until the app has written its result; why not, when it does not."""
        from adbutils import AdbTimeout

        s = self.settings
        started = time.monotonic()
        timed_out = (FailureKind.TIMEOUT, f"no result in {result_path} on {serial} within {timeout:g} s; the app was stopped")

        def written() -> bool:
            # each check may take no longer than what is left of the deadline (a frozen phone never answers)
            left = max(MIN_CHECK_S, min(s.io_timeout_s, started + timeout - time.monotonic()))
            return bool(self.adb.device(serial, timeout=left).sync.stat(result_path).size > 0)

        while True:
            try:
                if written():
                    return None
            except (AdbTimeout, TimeoutError):
                if time.monotonic() - started < timeout:
                    raise  # a phone that stopped answering before the deadline: `run` says so
                return timed_out
            if sampler.error is not None:
                raise sampler.error
            elapsed = time.monotonic() - started
            if elapsed > timeout:
                return timed_out
            if sampler.gone or (not sampler.seen and elapsed > s.launch_grace_s):
                time.sleep(s.poll_interval_s)  # the app may have written the result just before exiting
                if written():
                    return None
                what = "exited" if sampler.seen else f"did not start within launch_grace_s = {s.launch_grace_s:g} s"
                return (
                    FailureKind.CRASH,
                    f"the app {s.package} {what} on {serial} without writing {result_path}; see `adb -s {serial} logcat -s flint`",
                )
            time.sleep(s.poll_interval_s)
