"""The app's CPU % and PSS from UiAutomator2's `mobile: getPerformanceData`."""

from __future__ import annotations

import logging
from typing import Any

from ...core.records import Record
from ...core.units import kib_to_mib
from ..adb.parsers import parse_cpu_freq_mhz, parse_loadavg_1min
from ..sections import memory_section, sampled_cpu_section
from .session import wd_message

log = logging.getLogger(__name__)


class PerfSampler:
    """The app's CPU % (user + kernel) and PSS, sampled at every result poll while the app trains.
    Stops at the first refusal (other drivers, app gone)."""

    def __init__(self, driver: Any, package: str, enabled: bool):
        self.driver, self.package, self.enabled = driver, package, enabled
        self.cpu: list[float] = []
        self.pss_mb: list[float] = []

    def sample(self) -> None:
        from selenium.common.exceptions import InvalidSessionIdException, WebDriverException

        if not self.enabled:
            return
        try:
            cpu = _perf_row(self.driver.get_performance_data(self.package, "cpuinfo"))
            mem = _perf_row(self.driver.get_performance_data(self.package, "memoryinfo"))
        except InvalidSessionIdException:
            raise
        except (WebDriverException, ValueError, TypeError) as e:
            log.debug("performance sampling stopped: %s", wd_message(e))
            self.enabled = False
            return
        if "user" in cpu and "kernel" in cpu:
            self.cpu.append(cpu["user"] + cpu["kernel"])
        if "totalPss" in mem:
            self.pss_mb.append(kib_to_mib(mem["totalPss"]))  # dumpsys meminfo reports KB

    def fill(self, record: Record) -> None:
        if self.cpu:
            record["cpu"] = sampled_cpu_section(
                self.cpu, "appium mobile: getPerformanceData cpuinfo (user + kernel %) at each result poll"
            )
        if self.pss_mb:
            record["memory"] = memory_section(
                max(self.pss_mb), "pss: appium mobile: getPerformanceData memoryinfo totalPss at each result poll"
            )


def _perf_row(table: list[list[Any]]) -> dict[str, float]:
    """UiAutomator2 answers [[names...], [values...]] with values as strings."""
    names, values = table[0], table[1]
    return {str(n): float(v) for n, v in zip(names, values, strict=False) if v not in (None, "")}


PHONE_STATE = "cat /proc/loadavg; echo @@; cat /sys/devices/system/cpu/cpu*/cpufreq/scaling_cur_freq 2>/dev/null"


class PhoneState:
    """The phone's load average and CPU frequency, where the hub lets a session run a shell command
    (UiAutomator2's `mobile: shell`, which Appium allows only with `--allow-insecure adb_shell`); null
    with the reason otherwise. Energy is not read over Appium (batterystats needs that shell too and
    resets the phone's statistics, which a cloud farm's phones are not ours to do)."""

    def __init__(self, driver: Any, platform: str):
        self.driver, self.platform = driver, platform
        self.why_not: str | None = None
        self.start = self._read()

    def _read(self) -> tuple[float | None, float | None]:
        from selenium.common.exceptions import InvalidSessionIdException, WebDriverException

        if self.platform != "android":
            self.why_not = "an iPhone exposes no load average to a test session"
        if self.why_not:
            return None, None
        try:
            out = str(self.driver.execute_script("mobile: shell", {"command": "sh", "args": ["-c", PHONE_STATE]}))
        except InvalidSessionIdException:
            raise
        except WebDriverException as e:
            self.why_not = f"the hub runs no shell command (`mobile: shell`: {wd_message(e)})"
            return None, None
        load, _, freq = out.partition("@@\n")
        return parse_loadavg_1min(load), parse_cpu_freq_mhz(freq)

    def fill(self, record: Record) -> None:
        end = self._read()[0]
        method = (
            f"not read: {self.why_not}"
            if self.why_not
            else "appium mobile: shell: the phone's /proc/loadavg at launch and at the result; mean scaling_cur_freq at launch"
        )
        record["machine"] = {
            "load_1min_start": self.start[0],
            "load_1min_end": end,
            "others_cpu_share": None,
            "steal_share": None,
            "cpus": record["device"]["cores"],
            "cpu_freq_mhz": self.start[1],
            "method": method,
        }
        record["energy"] = {
            "joules": None,
            "mah": None,
            "method": "not read over Appium: "
            + (
                "iOS exposes no per-app energy to a test session"
                if self.platform == "ios"
                else "batterystats needs a shell on the phone"
            ),
        }
