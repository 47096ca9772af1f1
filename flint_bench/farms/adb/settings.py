"""The [adb] table of a farm config: the adb server, device selection, the app, conditions."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ...core.config import Annotated, Interval, Percentile, Port, PositiveInt
from ...core.errors import ConfigError
from ...core.versions import version_tuple
from ..android import check_app_names


@dataclass
class EmulatorSettings:
    """[adb.emulators]: AVDs that `flint-bench farm emulators start` boots (Android SDK `emulator`)."""

    avds: list[str] = field(default_factory=list)
    headless: bool = True
    # console port; adb serial is emulator-<port>, even ports only
    first_port: Annotated[int, Interval(ge=5554, le=5682)] = 5554
    boot_timeout_s: Annotated[float, Interval(gt=0, le=7200)] = 300.0
    extra_args: list[str] = field(default_factory=lambda: ["-no-audio", "-no-boot-anim", "-no-snapshot-save"])

    def validate(self, file: str, prefix: str) -> None:
        if self.first_port % 2:
            raise ConfigError(
                file, f"{prefix}first_port", "must be an even port in 5554..5682 (the emulator's console port range)"
            )


@dataclass
class AdbSettings:
    """[adb] table of a farm config."""

    server_host: str = "127.0.0.1"
    server_port: Port | None = None  # None: $ANDROID_ADB_SERVER_PORT, else 5037
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
    max_devices: PositiveInt | None = None
    # the benchmark app
    package: str = "org.flint.bench"
    activity: str = ".BenchmarkActivity"
    apk: str | None = None  # installed when the device's versionName differs from app_version (relative to this file)
    app_version: str | None = None
    storage_dir: str = "/sdcard/Android/data/{package}/files"  # the app's external files folder
    install_timeout_s: Annotated[float, Interval(gt=0, le=3600)] = 180.0
    # every exchange with a phone (a shell command, a step of a file transfer) must answer this soon;
    # a phone that stops answering becomes a `timeout` failure record
    io_timeout_s: Annotated[float, Interval(gt=0, le=600)] = 30.0
    result_timeout_s: Annotated[float, Interval(gt=0, le=7 * 86400)] | None = None  # None: [run].timeout_s
    launch_grace_s: Annotated[float, Interval(gt=0, le=3600)] = (
        15.0  # the app must appear (or a result) this soon after `am start`
    )
    poll_interval_s: Annotated[float, Interval(gt=0, le=60)] = 0.5
    sample_hz: Annotated[float, Interval(gt=0, le=50)] = 2.0  # CPU % from /proc/<pid>/stat: one adb shell per sample
    pss_interval_s: Annotated[float, Interval(gt=0, le=3600)] = (
        1.0  # PSS from `dumpsys meminfo <pid>` (slower, so sampled less often)
    )
    # conditions before each benchmark
    cooldown_s: Annotated[float, Interval(ge=0, le=86400)] = 0.0
    force_idle: bool = False  # `dumpsys deviceidle force-idle` during cooldown (ExecuTorch's benchmark flow)
    # wait while `dumpsys thermalservice` status is above this (Android thermal status: 0 none, 1 light,
    # 2 moderate, 3 severe, 4 critical, 5 emergency, 6 shutdown)
    max_thermal_status: Annotated[int, Interval(ge=0, le=6)] = 1
    max_battery_temp_c: Annotated[float, Interval(ge=0, le=100)] = 42.0
    thermal_wait_s: Annotated[float, Interval(gt=0, le=86400)] = 300.0  # give up (failed record, kind 'thermal') after this long
    min_battery_percent: Percentile = 0.0
    # energy from batterystats' per-UID estimate (resets the phone's battery statistics before each run)
    measure_energy: bool = True
    # one benchmark at a time on a phone: wait this long for another run of this machine to free it
    lock_wait_s: Annotated[float, Interval(gt=0, le=7 * 86400)] | None = None  # None: [run].timeout_s
    keep_files: bool = False  # leave spec/model/result on the device (debugging)
    emulators: EmulatorSettings = field(default_factory=EmulatorSettings)

    @property
    def port(self) -> int:
        return self.server_port or int(os.environ.get("ANDROID_ADB_SERVER_PORT") or 5037)

    @property
    def storage(self) -> str:
        """The app's folder on the device."""
        return self.storage_dir.replace("{package}", self.package).rstrip("/")

    @property
    def component(self) -> str:
        return f"{self.package}/{self.activity}"

    def validate(self, file: str, prefix: str) -> None:
        check_app_names(file, prefix, self.package, self.activity)
        if self.apk is not None and self.app_version is None:
            raise ConfigError(
                file,
                prefix + "app_version",
                "required when 'apk' is set: the app is (re)installed when the device's versionName differs from it",
            )
        for key, value in (("min_os_version", self.min_os_version), ("max_os_version", self.max_os_version)):
            if value is not None and not version_tuple(value):
                raise ConfigError(file, prefix + key, f"not a version like '11' or '8.1': {value!r}")
        if not self.storage_dir.startswith("/"):
            raise ConfigError(file, prefix + "storage_dir", "must be an absolute device path")
