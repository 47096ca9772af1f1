"""Parsers of Android command output (pure: text in, values out)."""

from __future__ import annotations

import re
from typing import TypedDict

from ...core.units import kib_to_mib

THERMAL_NAMES = ["none", "light", "moderate", "severe", "critical", "emergency", "shutdown"]


def parse_getprop(text: str) -> dict[str, str]:
    return dict(re.findall(r"^\[([^\]]+)\]: \[(.*)\]\s*$", text, re.M))


def parse_meminfo_total_mb(text: str) -> float | None:
    m = re.search(r"^MemTotal:\s+(\d+)\s*kB", text, re.M)
    return round(kib_to_mib(int(m.group(1))), 1) if m else None


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


class Battery(TypedDict):
    percent: float | None
    charging: bool | None
    temperature_c: float | None


_POWER_SOURCES = ("AC powered", "USB powered", "Wireless powered")


def parse_battery(text: str) -> Battery:
    """`dumpsys battery`."""
    values = dict(re.findall(r"^\s*([A-Za-z ]+):\s*(\S+)\s*$", text, re.M))
    level, scale = values.get("level"), values.get("scale", "100")
    percent = round(100 * int(level) / int(scale), 1) if level and level.isdigit() and scale.isdigit() and int(scale) else None
    charging = any(values.get(k) == "true" for k in _POWER_SOURCES) if any(k in values for k in _POWER_SOURCES) else None
    temp = values.get("temperature")
    return {
        "percent": percent,
        "charging": charging,
        "temperature_c": int(temp) / 10 if temp and temp.lstrip("-").isdigit() else None,
    }


def parse_thermal_status(text: str) -> int | None:
    m = re.search(r"^Thermal Status:\s*(\d+)", text, re.M)
    return int(m.group(1)) if m else None


def thermal_state(status: int | None) -> str | None:
    """A thermal status as the record shows it, e.g. 'moderate (2)'."""
    return None if status is None else f"{THERMAL_NAMES[min(status, 6)]} ({status})"


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


def parse_app_uid(text: str) -> str | None:
    """The app's uid as batterystats names it (u0a123 for userId=10123) from `dumpsys package <pkg>`."""
    m = re.search(r"^\s*userId=(\d+)", text, re.M)
    if not m:
        return None
    uid = int(m.group(1))
    return f"u0a{uid - 10000}" if 10000 <= uid < 20000 else str(uid)


def parse_uid_power_mah(text: str, uid: str) -> float | None:
    """The per-UID estimate of `dumpsys batterystats` ("Estimated power use (mAh)": `UID u0a123: 1.23 ( cpu=... )`
    on Android 12+, `Uid u0a123: 1.23` before); None when the uid has no line (nothing attributed, or no estimate)."""
    block = text.partition("Estimated power use (mAh):")[2]
    m = re.search(rf"^\s*uid {re.escape(uid)}:\s*([0-9]+(?:\.[0-9]+)?)", block, re.M | re.I)
    return float(m.group(1)) if m else None


def parse_voltage_mv(text: str) -> int | None:
    """`voltage: 4012` (mV) of `dumpsys battery`."""
    m = re.search(r"^\s*voltage:\s*(\d+)\s*$", text, re.M)
    return int(m.group(1)) if m and int(m.group(1)) > 0 else None


def parse_loadavg_1min(text: str) -> float | None:
    """The first figure of /proc/loadavg."""
    head = text.split()[:1]
    try:
        return float(head[0]) if head else None
    except ValueError:
        return None


def parse_cpu_freq_mhz(text: str) -> float | None:
    """The mean of the cores' scaling_cur_freq (kHz, one per line) in MHz; None when none was readable."""
    khz = [int(line) for line in text.split() if line.isdigit() and int(line) > 0]
    return round(sum(khz) / len(khz) / 1000, 1) if khz else None
