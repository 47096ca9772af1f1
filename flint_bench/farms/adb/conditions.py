"""The phone's state before a benchmark: battery, temperature, thermal status; cooldown and waiting
out thermal throttling."""

from __future__ import annotations

import time
from dataclasses import dataclass

from ...core.records import ConditionsSection
from ..sections import conditions_section
from .connection import AdbConnection
from .parsers import parse_battery, parse_thermal_status, thermal_state
from .settings import AdbSettings


@dataclass
class PhoneState:
    battery_percent: float | None
    charging: bool | None
    temperature_c: float | None
    thermal_status: int | None

    @property
    def thermal_state(self) -> str | None:
        return thermal_state(self.thermal_status)

    def section(self, cooldown_seconds: float) -> ConditionsSection:
        return conditions_section(
            battery_percent=self.battery_percent,
            charging=self.charging,
            thermal_state=self.thermal_state,
            cooldown_seconds=cooldown_seconds,
            temperature_c=self.temperature_c,
        )


def read_state(adb: AdbConnection, serial: str) -> PhoneState:
    out = adb.shell(serial, "dumpsys battery; echo '@@'; dumpsys thermalservice").stdout
    battery, _, thermal = out.partition("@@\n")
    b = parse_battery(battery)
    return PhoneState(b["percent"], b["charging"], b["temperature_c"], parse_thermal_status(thermal))


def too_hot(state: PhoneState, s: AdbSettings) -> str | None:
    """Why the phone is too hot to benchmark, or None."""
    if state.thermal_status is not None and state.thermal_status > s.max_thermal_status:
        return f"thermal status {state.thermal_state} is above max_thermal_status = {s.max_thermal_status}"
    if state.temperature_c is not None and state.temperature_c > s.max_battery_temp_c:
        return f"battery at {state.temperature_c:.1f} °C is above max_battery_temp_c = {s.max_battery_temp_c:g}"
    return None


def prepare(adb: AdbConnection, serial: str) -> tuple[PhoneState, str | None]:
    """Cooldown (optionally forced idle), then wait while the phone is too hot; (state, why it cannot run)."""
    s = adb.settings
    if s.cooldown_s:
        if s.force_idle:
            adb.shell(serial, "dumpsys deviceidle force-idle")
        time.sleep(s.cooldown_s)
        if s.force_idle:
            adb.shell(serial, "dumpsys deviceidle unforce")
    deadline = time.monotonic() + s.thermal_wait_s
    while True:
        state = read_state(adb, serial)
        hot = too_hot(state, s)
        if hot is None or time.monotonic() > deadline:
            break
        time.sleep(min(10.0, s.thermal_wait_s / 10))
    if hot:
        return state, f"{hot} after waiting thermal_wait_s = {s.thermal_wait_s:g} s"
    if state.battery_percent is not None and state.battery_percent < s.min_battery_percent:
        return (
            state,
            f"battery at {state.battery_percent:g}% is below min_battery_percent = {s.min_battery_percent:g}; charge the phone",
        )
    return state, None
