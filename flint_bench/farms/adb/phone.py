"""What the adb farm does to a phone around one benchmark and reads from it: wake and unlock the
screen before the launch, the app's energy from batterystats' per-UID estimate, and the phone's load
and CPU frequency (the record's `machine` section). Every command is a fixed string or quoted, and has
its own deadline."""

from __future__ import annotations

import shlex

from ...core.records import EnergySection, MachineSection, SustainedSection
from ...core.stats import finite
from .connection import AdbConnection
from .parsers import parse_app_uid, parse_cpu_freq_mhz, parse_loadavg_1min, parse_uid_power_mah, parse_voltage_mv

# wake the screen, dismiss the keyguard (Android 8+), and MENU, which dismisses a swipe lock on older releases
WAKE_COMMANDS = ("input keyevent KEYCODE_WAKEUP", "wm dismiss-keyguard", "input keyevent 82")
SCREEN_TIMEOUT_S = 10.0
MACHINE_COMMAND = "cat /proc/loadavg; echo '@@'; cat /sys/devices/system/cpu/cpu*/cpufreq/scaling_cur_freq 2>/dev/null"
MAH_TO_COULOMB = 3.6


def wake_and_unlock(adb: AdbConnection, serial: str) -> list[str]:
    """Wake the screen and dismiss a swipe keyguard before the launch: an app started behind a sleeping
    or locked screen is paused and may be throttled. A secure lock screen (PIN, pattern) cannot be
    dismissed over adb; labs turn it off. Returns the commands that failed (best effort, each bounded)."""
    problems = []
    for command in WAKE_COMMANDS:
        res = adb.shell(serial, command, timeout=min(adb.settings.io_timeout_s, SCREEN_TIMEOUT_S))
        if res.returncode != 0:
            problems.append(f"`{command}` exited {res.returncode}: {res.output.strip()[:200]}")
    return problems


class PhoneLoad:
    """The phone's 1-minute load average at launch and at the result, and its mean CPU frequency at launch."""

    def __init__(self, adb: AdbConnection, serial: str):
        self.adb, self.serial = adb, serial
        self.start = self._read()

    def _read(self) -> tuple[float | None, float | None]:
        load, _, freq = self.adb.shell(self.serial, MACHINE_COMMAND).stdout.partition("@@\n")
        return parse_loadavg_1min(load), parse_cpu_freq_mhz(freq)

    def section(self, cores: int | None) -> MachineSection:
        end = self._read()[0]
        start_load, freq = self.start
        return {
            "load_1min_start": finite(start_load),
            "load_1min_end": finite(end),
            "others_cpu_share": None,
            "steal_share": None,
            "cpus": cores,
            "cpu_freq_mhz": freq,
            "method": "adb: the phone's /proc/loadavg at launch and at the result; mean scaling_cur_freq of its cores at launch "
            "(null where the phone does not expose it); other processes' CPU share and steal are not read on a phone",
        }


class EnergyMeter:
    """The app's energy from `dumpsys batterystats` (reset just before the launch): Android's per-UID
    estimate in mAh from the power profile, times the battery voltage. A phone on USB power accounts
    nothing, so while the run lasts it is told it is unplugged (`dumpsys battery unplug`, undone by
    `restore`). Null joules with the reason in `method` where the phone gives no estimate."""

    def __init__(self, adb: AdbConnection, serial: str, package: str, charging: bool | None):
        self.adb, self.serial, self.package = adb, serial, package
        self.uid: str | None = None
        self.unplugged = charging is not False

    def start(self) -> None:
        """Reset the statistics just before the launch (`restore` undoes the unplug, even if this fails)."""
        self.uid = parse_app_uid(self.adb.shell(self.serial, f"dumpsys package {shlex.quote(self.package)}").stdout)
        self.adb.shell(self.serial, ("dumpsys battery unplug; " if self.unplugged else "") + "dumpsys batterystats --reset")

    def section(self) -> EnergySection:
        out = self.adb.shell(
            self.serial, f"dumpsys batterystats --charged {shlex.quote(self.package)}; echo '@@'; dumpsys battery"
        )
        stats, _, battery = out.stdout.partition("@@\n")
        method = "dumpsys batterystats per-UID estimate (power profile, reset before the launch) x battery voltage"
        if self.uid is None:
            return {"joules": None, "mah": None, "method": f"not read: no userId for {self.package} in dumpsys package"}
        mah = parse_uid_power_mah(stats, self.uid)
        if mah is None:
            return {"joules": None, "mah": None, "method": f"not read: batterystats has no estimate for uid {self.uid}"}
        voltage = parse_voltage_mv(battery)
        joules = finite(mah * MAH_TO_COULOMB * voltage / 1000) if voltage is not None else None
        detail = f"uid {self.uid}, {voltage} mV" if voltage else f"uid {self.uid}, no battery voltage"
        return {"joules": joules, "mah": mah, "method": method, "detail": detail}

    def restore(self, timeout: float) -> None:
        if self.unplugged:
            self.adb.shell(self.serial, "dumpsys battery reset", timeout=timeout)


def with_thermal(
    sustained: SustainedSection, samples: list[tuple[float, int]], ended: float, interval_s: float
) -> SustainedSection:
    """The app's sustained section with the host's `dumpsys thermalservice` samples: each window without
    a status of its own gets the last sample taken before the window's end (the sustained phase ends
    when the result appears, `ended`, on the host's monotonic clock), and thermal_max their maximum."""
    minutes = sustained.get("minutes") or 0.0
    begun = ended - minutes * 60
    windows = sustained["windows"]
    for i, window in enumerate(windows):
        if window.get("thermal_status") is None:
            next_start = windows[i + 1]["t_s"] if i + 1 < len(windows) else None
            end = begun + (next_start if next_start is not None else minutes * 60)
            earlier = [status for t, status in samples if t <= end]
            window["thermal_status"] = earlier[-1] if earlier else None
    statuses = [status for w in windows if (status := w.get("thermal_status")) is not None]
    statuses += [status for t, status in samples if t >= begun]
    if statuses:
        sustained["thermal_max"] = max(statuses)
    sustained["method"] = (
        f"{sustained.get('method') or 'the app'}; thermal status: dumpsys thermalservice sampled by the host every {interval_s:g} s"
    )
    return sustained
