"""The app's CPU % and PSS from UiAutomator2's `mobile: getPerformanceData`."""

from __future__ import annotations

import logging
from typing import Any

from ...core.records import Record
from ...core.units import kib_to_mib
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
