"""The `adb` farm: Android phones over USB/TCP and Android emulators, through the adb server (adbutils).

Per benchmark: install or upgrade the benchmark app when its version differs, push spec + model +
data into the app's storage, cool down and wait out thermal throttling, `am start` the benchmark
activity, sample the app process's CPU % (/proc/<pid>/stat) and PSS (dumpsys meminfo) from the
host, wait for the result file with a timeout, pull it, merge it into the record and clean up.
Everything that reaches the device shell is quoted with shlex.quote.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..core.contract import ContractError, fail, merge_device_result
from ..core.errors import ConfigError, UserError
from .base import BenchJob, Check, Device, DeviceLost, Farm

CLK_TCK = 100  # USER_HZ on every Android kernel (and Linux): /proc/<pid>/stat times are in 1/100 s
THERMAL_NAMES = ["none", "light", "moderate", "severe", "critical", "emergency", "shutdown"]


@dataclass
class EmulatorSettings:
    """[adb.emulators]: AVDs that `flint-bench farm emulators start` boots (Android SDK `emulator`)."""

    avds: list[str] = field(default_factory=list)
    headless: bool = True
    first_port: int = 5554  # console port; adb serial is emulator-<port>, even ports only
    boot_timeout_s: float = 300.0
    extra_args: list[str] = field(default_factory=lambda: ["-no-audio", "-no-boot-anim", "-no-snapshot-save"])

    def validate(self, file: str, prefix: str) -> None:
        if not 5554 <= self.first_port <= 5682 or self.first_port % 2:
            raise ConfigError(
                file, f"{prefix}first_port", "must be an even port in 5554..5682 (the emulator's console port range)"
            )


@dataclass
class AdbSettings:
    """[adb] table of a farm config."""

    server_host: str = "127.0.0.1"
    server_port: int | None = None  # None: $ANDROID_ADB_SERVER_PORT, else 5037
    connect: list[str] = field(default_factory=list)  # host:port of TCP phones to `adb connect` first
    # selection: an empty list / None means "any"
    serials: list[str] = field(default_factory=list)
    manufacturers: list[str] = field(default_factory=list)  # case-insensitive
    models: list[str] = field(default_factory=list)  # ro.product.model, case-insensitive
    abis: list[str] = field(default_factory=list)
    min_sdk: int | None = None
    max_sdk: int | None = None
    min_os_version: str | None = None  # Android release, e.g. "11" or "8.1"
    max_os_version: str | None = None
    emulator: bool | None = None  # true: emulators only, false: real phones only
    max_devices: int | None = None
    # the benchmark app
    package: str = "org.flint.bench"
    activity: str = ".BenchmarkActivity"
    apk: str | None = None  # installed when the device's versionName differs from app_version (relative to this file)
    app_version: str | None = None
    storage_dir: str = "/sdcard/Android/data/{package}/files"  # the app's external files folder
    install_timeout_s: float = 180.0
    result_timeout_s: float | None = None  # None: [run].timeout_s
    launch_grace_s: float = 15.0  # the app process must appear (or a result) this soon after `am start`
    poll_interval_s: float = 0.5
    sample_hz: float = 2.0  # CPU % from /proc/<pid>/stat
    pss_interval_s: float = 1.0  # PSS from `dumpsys meminfo <pid>` (slower, so sampled less often)
    # conditions before each benchmark
    cooldown_s: float = 0.0
    force_idle: bool = False  # `dumpsys deviceidle force-idle` during cooldown (ExecuTorch's benchmark flow)
    max_thermal_status: int = 1  # wait while `dumpsys thermalservice` status is above this (0 none .. 6 shutdown)
    max_battery_temp_c: float = 42.0
    thermal_wait_s: float = 300.0  # give up (failed record, kind 'thermal') after this long
    min_battery_percent: float = 0.0
    keep_files: bool = False  # leave spec/model/result on the device (debugging)
    emulators: EmulatorSettings = field(default_factory=EmulatorSettings)

    def validate(self, file: str, prefix: str) -> None:
        for key in ("install_timeout_s", "launch_grace_s", "poll_interval_s", "sample_hz", "pss_interval_s", "thermal_wait_s"):
            if getattr(self, key) <= 0:
                raise ConfigError(file, prefix + key, f"must be positive, got {getattr(self, key)}")
        if self.result_timeout_s is not None and self.result_timeout_s <= 0:
            raise ConfigError(file, prefix + "result_timeout_s", "must be positive")
        if self.cooldown_s < 0:
            raise ConfigError(file, prefix + "cooldown_s", "must be 0 or more")
        if not 0 <= self.max_thermal_status <= 6:
            raise ConfigError(
                file,
                prefix + "max_thermal_status",
                "must be 0..6 (Android thermal status: 0 none, 1 light, 2 moderate, 3 severe, 4 critical, 5 emergency, 6 shutdown)",
            )
        if self.max_devices is not None and self.max_devices < 1:
            raise ConfigError(file, prefix + "max_devices", "must be at least 1")
        if not re.fullmatch(r"[A-Za-z][\w]*(\.[A-Za-z][\w]*)+", self.package):
            raise ConfigError(file, prefix + "package", f"not a Java package name: {self.package!r}")
        if not re.fullmatch(r"\.?[A-Za-z][\w.$]*", self.activity):
            raise ConfigError(
                file, prefix + "activity", f"not an activity class name (e.g. '.BenchmarkActivity'): {self.activity!r}"
            )
        if self.apk is not None and self.app_version is None:
            raise ConfigError(
                file,
                prefix + "app_version",
                "required when 'apk' is set: the app is (re)installed when the device's versionName differs from it",
            )
        for key in ("min_os_version", "max_os_version"):
            if getattr(self, key) is not None and version_tuple(getattr(self, key)) is None:
                raise ConfigError(file, prefix + key, f"not a version like '11' or '8.1': {getattr(self, key)!r}")
        if not self.storage_dir.startswith("/"):
            raise ConfigError(file, prefix + "storage_dir", "must be an absolute device path")


# ---- pure helpers (parsing Android output, selection) ----------------------------------------


def version_tuple(text: str | None) -> tuple[int, ...] | None:
    m = re.match(r"^\d+(\.\d+)*", (text or "").strip())
    return tuple(int(x) for x in m.group(0).split(".")) if m else None


def parse_getprop(text: str) -> dict[str, str]:
    return dict(re.findall(r"^\[([^\]]+)\]: \[(.*)\]\s*$", text, re.M))


def parse_meminfo_total_mb(text: str) -> float | None:
    m = re.search(r"^MemTotal:\s+(\d+)\s*kB", text, re.M)
    return round(int(m.group(1)) / 1024, 1) if m else None


def parse_cpu_range(text: str) -> int | None:
    """`/sys/devices/system/cpu/possible`, e.g. '0-7' or '0-3,6'."""
    count = 0
    for part in text.strip().split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        if not lo.isdigit() or (hi and not hi.isdigit()):
            return None
        count += int(hi or lo) - int(lo) + 1
    return count or None


def parse_battery(text: str) -> dict:
    values = dict(re.findall(r"^\s*([A-Za-z ]+):\s*(\S+)\s*$", text, re.M))
    level, scale = values.get("level"), values.get("scale", "100")
    percent = round(100 * int(level) / int(scale), 1) if level and level.isdigit() and scale.isdigit() and int(scale) else None
    charging = None
    if any(k in values for k in ("AC powered", "USB powered", "Wireless powered")):
        charging = any(values.get(k) == "true" for k in ("AC powered", "USB powered", "Wireless powered"))
    temp = values.get("temperature")
    return {
        "percent": percent,
        "charging": charging,
        "temperature_c": int(temp) / 10 if temp and temp.lstrip("-").isdigit() else None,
    }


def parse_thermal_status(text: str) -> int | None:
    m = re.search(r"^Thermal Status:\s*(\d+)", text, re.M)
    return int(m.group(1)) if m else None


def parse_version_name(text: str) -> str | None:
    m = re.search(r"^\s*versionName=(\S+)", text, re.M)
    return m.group(1) if m else None


def parse_pss_kb(text: str) -> int | None:
    m = re.search(r"TOTAL PSS:\s+(\d+)", text) or re.search(r"^\s*TOTAL\s+(\d+)", text, re.M)
    return int(m.group(1)) if m else None


def parse_proc_stat_ticks(text: str) -> int | None:
    """utime + stime (fields 14 and 15) of /proc/<pid>/stat; the command name may contain spaces."""
    try:
        fields = text.rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (IndexError, ValueError):
        return None


def device_from_props(serial: str, farm: str, props: dict[str, str], memory_mb: float | None, cores: int | None) -> Device:
    emulator = (
        props.get("ro.kernel.qemu") == "1"
        or props.get("ro.boot.qemu") == "1"
        or serial.startswith("emulator-")
        or props.get("ro.hardware") in ("ranchu", "goldfish")
    )
    soc = props.get("ro.soc.model") or props.get("ro.board.platform") or props.get("ro.hardware") or None
    return Device(
        id=serial,
        farm=farm,
        manufacturer=props.get("ro.product.manufacturer") or None,
        model=props.get("ro.product.model") or None,
        soc=soc,
        os="Android",
        os_version=props.get("ro.build.version.release") or None,
        abi=props.get("ro.product.cpu.abi") or None,
        cores=cores,
        memory_mb=memory_mb,
        emulator=emulator,
        handle={
            "serial": serial,
            "sdk": int(props["ro.build.version.sdk"]) if props.get("ro.build.version.sdk", "").isdigit() else None,
        },
    )


def select(devices: list[Device], s: AdbSettings) -> list[Device]:
    """Apply the [adb] selection filters, in the order the devices were listed (serials in the given order)."""
    low = lambda xs: {x.lower() for x in xs}  # noqa: E731
    out = []
    for d in devices:
        sdk, ver = d.handle.get("sdk"), version_tuple(d.os_version)
        if s.serials and d.id not in s.serials:
            continue
        if s.manufacturers and (d.manufacturer or "").lower() not in low(s.manufacturers):
            continue
        if s.models and (d.model or "").lower() not in low(s.models):
            continue
        if s.abis and d.abi not in s.abis:
            continue
        if (
            (s.min_sdk is not None
            and (sdk is None or sdk < s.min_sdk))
            or (s.max_sdk is not None
            and (sdk is None or sdk > s.max_sdk))
        ):
            continue
        if s.min_os_version and (ver is None or ver < version_tuple(s.min_os_version)):
            continue
        if s.max_os_version and (ver is None or ver[: len(version_tuple(s.max_os_version))] > version_tuple(s.max_os_version)):
            continue
        if s.emulator is not None and d.emulator != s.emulator:
            continue
        out.append(d)
    if s.serials:
        out.sort(key=lambda d: s.serials.index(d.id))
    return out[: s.max_devices] if s.max_devices else out


# ---- the farm -------------------------------------------------------------------------------


class _AppSampler:
    """Samples the app process (found with pidof) over adb: CPU % from /proc/<pid>/stat, PSS from dumpsys."""

    def __init__(self, run_shell, package: str, hz: float, pss_interval_s: float):
        self.shell, self.package, self.interval, self.pss_interval = run_shell, package, 1.0 / hz, pss_interval_s
        self.pid: int | None = None
        self.seen = False
        self.gone = False  # the process was seen and has exited
        self.cpu: list[float] = []
        self.pss_mb: list[float] = []
        self.error: Exception | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        from adbutils import AdbError

        last: tuple[int, float] | None = None
        next_pss = 0.0
        try:
            while not self._stop.is_set():
                t0 = time.monotonic()
                if self.pid is None:
                    out = self.shell(f"pidof {shlex.quote(self.package)}").stdout.split()
                    if out and out[0].isdigit():
                        self.pid, self.seen = int(out[0]), True
                else:
                    want_pss = t0 >= next_pss
                    cmd = f"cat /proc/{self.pid}/stat" + (f" && dumpsys meminfo {self.pid}" if want_pss else "")
                    res = self.shell(cmd)
                    ticks = parse_proc_stat_ticks(res.stdout.split("\n", 1)[0]) if res.returncode == 0 else None
                    now = time.monotonic()
                    if ticks is None:
                        self.gone, self.pid = True, None
                        return
                    if last is not None and now > last[1]:
                        self.cpu.append(100.0 * (ticks - last[0]) / CLK_TCK / (now - last[1]))
                    last = (ticks, now)
                    if want_pss and (kb := parse_pss_kb(res.stdout)) is not None:
                        self.pss_mb.append(kb / 1024)
                        next_pss = t0 + self.pss_interval
                self._stop.wait(max(0.0, self.interval - (time.monotonic() - t0)))
        except AdbError as e:
            self.error = e


class AdbFarm(Farm):
    kind = "adb"
    settings_class = AdbSettings
    parallel = True  # each phone has its own CPU

    def __init__(self, name, settings: AdbSettings, config_path: Path | None = None):
        super().__init__(name, settings, config_path)
        self._app_ready: dict[str, bool] = {}
        self._lock = threading.Lock()

    # -- plumbing --
    @property
    def port(self) -> int:
        return self.settings.server_port or int(os.environ.get("ANDROID_ADB_SERVER_PORT") or 5037)

    def client(self):
        from adbutils import AdbClient

        return AdbClient(self.settings.server_host, self.port)

    @property
    def storage(self) -> str:
        return self.settings.storage_dir.replace("{package}", self.settings.package).rstrip("/")

    @property
    def component(self) -> str:
        return f"{self.settings.package}/{self.settings.activity}"

    def apk_path(self) -> Path | None:
        if self.settings.apk is None:
            return None
        p = Path(self.settings.apk).expanduser()
        return p if p.is_absolute() or self.config_path is None else self.config_path.parent / p

    def _shell(self, serial: str, cmd: str, timeout: float = 60):
        return self.client().device(serial).shell2(cmd, timeout=timeout, v2=True)

    def _connect_tcp(self) -> list[str]:
        from adbutils import AdbError

        messages = []
        for addr in self.settings.connect:
            try:
                messages.append(f"{addr}: {self.client().connect(addr, timeout=10)}")
            except AdbError as e:
                messages.append(f"{addr}: {e}")
        return messages

    def _server_error(self, e: Exception) -> UserError:
        return UserError(
            f"Farm '{self.name}': cannot reach the adb server at {self.settings.server_host}:{self.port} ({e}). "
            f"Start it with `adb start-server` (adbutils ships adb; or `apt-get install adb`), or fix the server_host/server_port keys of the adb table "
            f"in {self.config_path}. Run `flint-bench farm doctor --farm {self.config_path}` for details."
        )

    def _describe(self, serial: str) -> Device:
        out = self._shell(serial, "getprop; echo '@@'; cat /proc/meminfo; echo '@@'; cat /sys/devices/system/cpu/possible").stdout
        props, meminfo, cpus = (out.split("@@\n") + ["", ""])[:3]
        return device_from_props(serial, self.name, parse_getprop(props), parse_meminfo_total_mb(meminfo), parse_cpu_range(cpus))

    def all_devices(self) -> tuple[list[Device], list[tuple[str, str]]]:
        """Every attached device in state 'device' described, plus (serial, state) of the others."""
        from adbutils import AdbError

        self._connect_tcp()
        try:
            infos = self.client().list()
        except AdbError as e:
            raise self._server_error(e) from None
        ready, other = [], []
        for info in infos:
            if info.state != "device":
                other.append((info.serial, info.state))
                continue
            try:
                ready.append(self._describe(info.serial))
            except AdbError as e:
                other.append((info.serial, f"error: {e}"))
        return ready, other

    def devices(self) -> list[Device]:
        return select(self.all_devices()[0], self.settings)

    # -- app install --
    def installed_version(self, serial: str) -> str | None:
        return parse_version_name(self._shell(serial, f"dumpsys package {shlex.quote(self.settings.package)}").stdout)

    def _ensure_app(self, serial: str) -> tuple[str, str] | None:
        """Install/upgrade once per device and farm run; (error kind, message) when it cannot."""
        with self._lock:
            if self._app_ready.get(serial):
                return None
        s, apk = self.settings, self.apk_path()
        installed = self.installed_version(serial)
        if apk is None:
            if installed is None:
                return "app-missing", (
                    f"the benchmark app {s.package} is not installed on {serial}. Build it (device_apps/android/README.md) and set "
                    f"adb.apk and app_version in {self.config_path}, or install it with `adb -s {serial} install app.apk`."
                )
        elif installed != s.app_version:
            if not apk.is_file():
                return (
                    "install",
                    f"adb.apk {apk} does not exist (device {serial} has version {installed!r}, the farm wants {s.app_version!r}).",
                )
            remote = "/data/local/tmp/flint-bench-app.apk"
            device = self.client().device(serial)
            device.sync.push(str(apk), remote)
            res = self._shell(serial, f"pm install -r -t {shlex.quote(remote)}", timeout=s.install_timeout_s)
            self._shell(serial, f"rm -f {shlex.quote(remote)}")
            if "Success" not in res.output:
                return (
                    "install",
                    f"installing {apk.name} on {serial} failed: {res.output.strip()[-500:] or f'exit code {res.returncode}'}",
                )
            now = self.installed_version(serial)
            if now != s.app_version:
                return (
                    "install",
                    f"after installing {apk.name} on {serial} the app reports versionName {now!r}, expected adb.app_version {s.app_version!r}.",
                )
        with self._lock:
            self._app_ready[serial] = True
        return None

    # -- conditions --
    def conditions(self, serial: str) -> dict:
        out = self._shell(serial, "dumpsys battery; echo '@@'; dumpsys thermalservice").stdout
        battery, _, thermal = out.partition("@@\n")
        b, status = parse_battery(battery), parse_thermal_status(thermal)
        return {
            "battery_percent": b["percent"],
            "charging": b["charging"],
            "temperature_c": b["temperature_c"],
            "thermal_status": status,
            "thermal_state": None if status is None else f"{THERMAL_NAMES[min(status, 6)]} ({status})",
        }

    def _too_hot(self, c: dict) -> str | None:
        s = self.settings
        if c["thermal_status"] is not None and c["thermal_status"] > s.max_thermal_status:
            return f"thermal status {c['thermal_state']} is above max_thermal_status = {s.max_thermal_status}"
        if c["temperature_c"] is not None and c["temperature_c"] > s.max_battery_temp_c:
            return f"battery at {c['temperature_c']:.1f} °C is above max_battery_temp_c = {s.max_battery_temp_c:g}"
        return None

    def _prepare_conditions(self, serial: str) -> tuple[dict, str | None]:
        """Cooldown (optionally forced idle), then wait while the phone is too hot; returns (conditions, error)."""
        s = self.settings
        if s.cooldown_s:
            if s.force_idle:
                self._shell(serial, "dumpsys deviceidle force-idle")
            time.sleep(s.cooldown_s)
            if s.force_idle:
                self._shell(serial, "dumpsys deviceidle unforce")
        deadline = time.monotonic() + s.thermal_wait_s
        while True:
            c = self.conditions(serial)
            hot = self._too_hot(c)
            if hot is None or time.monotonic() > deadline:
                break
            time.sleep(min(10.0, s.thermal_wait_s / 10))
        if hot:
            return c, f"{hot} after waiting thermal_wait_s = {s.thermal_wait_s:g} s"
        if c["battery_percent"] is not None and c["battery_percent"] < s.min_battery_percent:
            return (
                c,
                f"battery at {c['battery_percent']:g}% is below min_battery_percent = {s.min_battery_percent:g}; charge the phone",
            )
        return c, None

    # -- the benchmark --
    def _is_lost(self, serial: str) -> bool:
        from adbutils import AdbError

        try:
            return not any(i.serial == serial and i.state == "device" for i in self.client().list())
        except AdbError:
            return True

    def run(self, device: Device, job: BenchJob) -> dict:
        from adbutils import AdbError

        record = job.blank_record(device)
        serial = device.handle.get("serial", device.id)
        try:
            return self._run(serial, job, record)
        except AdbError as e:
            if self._is_lost(serial):
                raise DeviceLost(f"{e} (adb no longer lists {serial} as a ready device)") from e
            return fail(record, "adb", f"{type(e).__name__}: {e}")

    def _run(self, serial: str, job: BenchJob, record: dict) -> dict:
        s, q = self.settings, shlex.quote
        if (problem := self._ensure_app(serial)) is not None:
            return fail(record, *problem)
        conditions, problem = self._prepare_conditions(serial)
        record["conditions"] = {
            "battery_percent": conditions["battery_percent"],
            "charging": conditions["charging"],
            "thermal_state": conditions["thermal_state"],
            "cooldown_seconds": s.cooldown_s,
            "temperature_c": conditions["temperature_c"],
        }
        if problem:
            return fail(record, "thermal", f"{serial}: {problem}")

        folder = self.storage
        spec_path, result_path = f"{folder}/spec.json", f"{folder}/result.json"
        device = self.client().device(serial)
        self._shell(serial, f"am force-stop {q(s.package)}; mkdir -p {q(folder)} && rm -f {q(result_path)}")
        spec = job.spec("model.pte", "data.npz")  # relative to the spec's folder (contract)
        device.sync.push(str(job.training_artifact), f"{folder}/model.pte")
        device.sync.push(str(job.data_file), f"{folder}/data.npz")
        device.sync.push(json.dumps(spec).encode(), spec_path)
        try:
            return self._launch_and_wait(serial, job, record, spec_path, result_path)
        finally:
            cleanup = f"am force-stop {q(s.package)}"
            if not s.keep_files:
                cleanup += f"; rm -f {q(spec_path)} {q(result_path)} {q(folder + '/model.pte')} {q(folder + '/data.npz')}"
            try:
                self._shell(serial, cleanup)
            except Exception:  # the device may be gone; the record says why
                pass

    def _launch_and_wait(self, serial: str, job: BenchJob, record: dict, spec_path: str, result_path: str) -> dict:
        from adbutils import AdbError

        s, q = self.settings, shlex.quote
        timeout = s.result_timeout_s or job.settings.timeout_s
        device = self.client().device(serial)
        run_shell = lambda cmd: self._shell(serial, cmd, timeout=30)  # noqa: E731
        with _AppSampler(run_shell, s.package, s.sample_hz, s.pss_interval_s) as sampler:
            out = self._shell(
                serial, f"am start -n {q(self.component)} --es spec {q(spec_path)} --es result {q(result_path)}"
            ).output
            if "Error" in out or "Exception" in out:
                return fail(record, "launch", f"`am start {self.component}` failed on {serial}: {out.strip()[-500:]}")
            started = time.monotonic()
            while True:
                if device.sync.stat(result_path).size > 0:
                    break
                if sampler.error is not None:
                    raise sampler.error
                elapsed = time.monotonic() - started
                if elapsed > timeout:
                    return fail(
                        record, "timeout", f"no result in {result_path} on {serial} within {timeout:g} s; the app was stopped"
                    )
                if sampler.gone or (not sampler.seen and elapsed > s.launch_grace_s):
                    time.sleep(s.poll_interval_s)  # the app may have written the result just before exiting
                    if device.sync.stat(result_path).size > 0:
                        break
                    what = "exited" if sampler.seen else f"did not start within launch_grace_s = {s.launch_grace_s:g} s"
                    return fail(
                        record,
                        "crash",
                        f"the app {s.package} {what} on {serial} without writing {result_path}; see `adb -s {serial} logcat -s flint`",
                    )
                time.sleep(s.poll_interval_s)
        try:
            result = json.loads(device.sync.read_text(result_path))
            merge_device_result(record, result)
        except (json.JSONDecodeError, UnicodeDecodeError, ContractError) as e:
            return fail(record, "invalid-result", f"the app's result {result_path} on {serial} is not a valid result: {e}")
        except AdbError:
            raise
        if sampler.cpu:
            record["cpu"] = {
                "mean_percent": sum(sampler.cpu) / len(sampler.cpu),
                "max_percent": max(sampler.cpu),
                "samples": len(sampler.cpu),
                "method": f"/proc/<pid>/stat of the app process over adb at {s.sample_hz:g} Hz from launch to result; 100 = one core",
            }
        if sampler.pss_mb:
            record["memory"] = {
                "peak_mb": max(sampler.pss_mb),
                "baseline_mb": None,
                "peak_delta_mb": None,
                "method": f"pss: peak of `dumpsys meminfo <pid>` TOTAL PSS every {s.pss_interval_s:g} s from launch to result",
            }
        # the app's own PSS figures (Debug.getPss) are comparable with ours; an RSS baseline (the reference worker) is not
        app_memory = result.get("memory") or {}
        if str(app_memory.get("method", "")).startswith("pss"):
            mem = record["memory"]
            if app_memory.get("peak_mb") is not None and (mem["peak_mb"] is None or app_memory["peak_mb"] > mem["peak_mb"]):
                mem.update(
                    peak_mb=app_memory["peak_mb"], method=mem["method"] + "; the app's own Debug.getPss() peak where higher"
                )
            if app_memory.get("baseline_mb") is not None and mem["peak_mb"] is not None:
                mem.update(
                    baseline_mb=app_memory["baseline_mb"], peak_delta_mb=max(0.0, mem["peak_mb"] - app_memory["baseline_mb"])
                )
        return record

    # -- doctor --
    def doctor(self) -> list[Check]:
        from adbutils import AdbError, adb_path

        checks: list[Check] = []
        try:
            exe = adb_path()
            ver = subprocess.run([exe, "version"], capture_output=True, text=True, timeout=20).stdout.splitlines()
            checks.append(
                Check("adb binary", True, f"{exe} ({ver[1] if len(ver) > 1 else ver[0] if ver else 'unknown version'})")
            )
        except (OSError, subprocess.SubprocessError, AdbError) as e:
            checks.append(
                Check(
                    "adb binary",
                    False,
                    f"no usable adb ({e}). `pip install adbutils` ships one; or `apt-get install adb`; or set ADBUTILS_ADB_PATH.",
                )
            )
        try:
            version = self.client().server_version()
            checks.append(Check("adb server", True, f"adb server protocol {version} at {self.settings.server_host}:{self.port}"))
        except (AdbError, OSError) as e:
            checks.append(
                Check(
                    "adb server",
                    False,
                    f"cannot reach the adb server at {self.settings.server_host}:{self.port} ({e}); start it with "
                    f"`adb -P {self.port} start-server` or fix adb.server_host/server_port.",
                )
            )
            return checks
        for line in self._connect_tcp():
            checks.append(
                Check(
                    f"connect {line.split(':')[0]}",
                    "connected" in line,
                    line if "connected" in line else f"{line}: is the phone on the network with `adb tcpip 5555` enabled?",
                )
            )
        try:
            ready, other = self.all_devices()
        except UserError as e:
            return checks + [Check("devices", False, str(e))]
        for serial, state in other:
            fix = {
                "unauthorized": "unlock the phone and accept the 'Allow USB debugging' prompt",
                "offline": "reconnect the cable, or `adb reconnect offline`",
            }.get(state, "check the connection and `adb devices -l`")
            checks.append(Check(f"device {serial}", False, f"state '{state}': {fix}"))
        chosen = select(ready, self.settings)
        checks.append(
            Check(
                "devices",
                bool(chosen),
                f"{len(chosen)} of {len(ready)} ready devices match the adb selection filters"
                if chosen
                else f"no device matches: {len(ready)} ready ({', '.join(d.id for d in ready) or 'none'}); connect a phone with USB debugging on, "
                f"or loosen the filters in the adb table of {self.config_path}",
            )
        )
        apk = self.apk_path()
        if apk is not None:
            checks.append(
                Check(
                    "apk",
                    apk.is_file(),
                    f"{apk} ({apk.stat().st_size} bytes), version {self.settings.app_version}"
                    if apk.is_file()
                    else f"adb.apk {apk} does not exist; build it (device_apps/android/README.md)",
                )
            )
        for d in chosen:
            checks.extend(self._doctor_device(d, apk))
        return checks

    def _doctor_device(self, d: Device, apk: Path | None) -> list[Check]:
        from adbutils import AdbError

        s, q, out = self.settings, shlex.quote, []
        try:
            installed = self.installed_version(d.id)
            if installed is not None and (s.app_version is None or installed == s.app_version):
                out.append(Check(f"{d.id} app", True, f"{s.package} {installed} installed"))
            elif apk is not None:
                out.append(
                    Check(
                        f"{d.id} app",
                        True,
                        f"{s.package} {installed or 'not installed'}; version {s.app_version} is installed on the first run",
                    )
                )
            else:
                out.append(
                    Check(
                        f"{d.id} app",
                        False,
                        f"{s.package} is not installed; set adb.apk + app_version or `adb -s {d.id} install app.apk`",
                    )
                )
            probe = f"{self.storage}/.flint-probe"
            res = self._shell(d.id, f"mkdir -p {q(self.storage)} && touch {q(probe)} && rm -f {q(probe)}")
            out.append(
                Check(
                    f"{d.id} storage",
                    res.returncode == 0,
                    f"{self.storage} is writable"
                    if res.returncode == 0
                    else f"cannot write {self.storage}: {res.output.strip()[:200]}; set adb.storage_dir to a folder the app and adb can both use",
                )
            )
            c = self.conditions(d.id)
            hot = self._too_hot(c)
            out.append(
                Check(
                    f"{d.id} conditions",
                    hot is None,
                    f"battery {c['battery_percent']}%, thermal {c['thermal_state'] or 'unknown'}"
                    + (f"; {hot}: let it cool down" if hot else ""),
                )
            )
        except AdbError as e:
            out.append(Check(f"{d.id}", False, f"adb error: {e}; check the connection"))
        return out
