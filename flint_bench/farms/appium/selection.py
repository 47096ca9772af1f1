"""Which devices an Appium farm benchmarks: the provider's list filtered by [appium.select] (pure,
so it is tested without a provider), and the farm's Device for each."""

from __future__ import annotations

from ...core.versions import version_at_least, version_sort_key, version_tuple
from ..base import Device
from .provider import brand
from .settings import AppiumDevice, Selection


def _within(version: str | None, select: Selection) -> bool:
    if select.os_version_min and not version_at_least(version, select.os_version_min):
        return False
    if select.os_version_max:
        highest = version_tuple(select.os_version_max)
        if version_tuple(version) > highest:
            return False
    return True


def select_devices(candidates: list[AppiumDevice], select: Selection) -> list[AppiumDevice]:
    """Filters over a provider's device list, sorted by name and version."""
    makers = {m.lower() for m in select.manufacturers}
    out = [
        d
        for d in candidates
        if _within(d.platform_version, select)
        and (not makers or (d.manufacturer or "").lower() in makers)
        and (not select.name_contains or select.name_contains.lower() in d.name.lower())
    ]
    out.sort(key=lambda d: (d.name, version_sort_key(d.platform_version)))
    return out[: select.max_devices] if select.max_devices else out


def as_device(d: AppiumDevice, farm: str, platform: str) -> Device:
    return Device(
        id=f"{d.name} {d.platform_version}" if d.platform_version else d.name,
        farm=farm,
        manufacturer=d.manufacturer or brand(d.name, platform),
        model=d.model or d.name,
        soc=d.soc,
        os="iOS" if platform == "ios" else "Android",
        os_version=d.platform_version,
        abi=d.abi,
        cores=d.cores,
        memory_mb=d.memory_mb,
        emulator=False,
        handle={"appium": d},
    )
