"""Energy of the training phase on this machine from Intel RAPL counters (Linux powercap).

`/sys/class/powercap/intel-rapl:<n>/energy_uj` counts the microjoules of CPU package n since an
arbitrary origin and wraps at `max_energy_range_uj`. The package counters measure the whole
socket, not the worker alone: the record says so in `method`. Where no counter is readable (a VM,
no permission, not Intel/AMD), joules is None and `method` says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..core.records import EnergySection

POWERCAP = Path("/sys/class/powercap")


@dataclass(frozen=True)
class RaplReading:
    uj: dict[str, int]  # package zone -> energy_uj
    max_uj: dict[str, int]  # package zone -> max_energy_range_uj (where the counter wraps)


def package_zones(root: Path = POWERCAP) -> list[Path]:
    """Top-level RAPL zones (packages); sub-zones (core, uncore, dram) are inside them."""
    return sorted(p for p in root.glob("intel-rapl:*") if p.name.count(":") == 1)


def read_rapl(root: Path = POWERCAP) -> RaplReading | str:
    """The counters now, or the reason none can be read."""
    zones = package_zones(root)
    if not zones:
        return f"no RAPL counters ({root}/intel-rapl:* absent)"
    uj, max_uj = {}, {}
    for zone in zones:
        try:
            uj[zone.name] = int((zone / "energy_uj").read_text())
            max_uj[zone.name] = int((zone / "max_energy_range_uj").read_text())
        except (OSError, ValueError) as e:
            return f"RAPL counter {zone / 'energy_uj'} not readable ({getattr(e, 'strerror', None) or e})"
    return RaplReading(uj, max_uj)


def joules_between(start: RaplReading, end: RaplReading) -> float:
    """Energy of all packages from `start` to `end`; a counter that went down wrapped once."""
    total = 0
    for zone, before in start.uj.items():
        after = end.uj[zone]
        total += after - before if after >= before else after + start.max_uj[zone] - before
    return total / 1e6


def energy_section(start: RaplReading | str | None, end: RaplReading | str | None) -> EnergySection:
    if isinstance(start, RaplReading) and isinstance(end, RaplReading) and start.uj.keys() == end.uj.keys():
        return {
            "joules": joules_between(start, end),
            "method": "rapl",
            "detail": f"RAPL package energy of the whole machine ({', '.join(start.uj)}) over the training phase",
        }
    reason = next((r for r in (start, end) if isinstance(r, str)), "the training phase was not observed")
    return {"joules": None, "method": f"not measured: {reason}", "detail": None}
