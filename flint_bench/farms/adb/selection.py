"""Which attached devices a farm benchmarks: describing a device from its properties, and the
[adb] selection filters (pure, so they are tested without a phone)."""

from __future__ import annotations

from ...core.versions import version_tuple
from ..base import Device
from .settings import AdbSettings


def device_from_props(serial: str, farm: str, props: dict[str, str], memory_mb: float | None, cores: int | None) -> Device:
    emulator = (
        props.get("ro.kernel.qemu") == "1"
        or props.get("ro.boot.qemu") == "1"
        or serial.startswith("emulator-")
        or props.get("ro.hardware") in ("ranchu", "goldfish")
    )
    soc = props.get("ro.soc.model") or props.get("ro.board.platform") or props.get("ro.hardware") or None
    sdk = props.get("ro.build.version.sdk", "")
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
        handle={"serial": serial, "sdk": int(sdk) if sdk.isdigit() else None},
    )


def _matches(d: Device, s: AdbSettings) -> bool:
    sdk, version = d.handle.get("sdk"), version_tuple(d.os_version)
    lowered = lambda names: {n.lower() for n in names}  # noqa: E731
    if s.serials and d.id not in s.serials:
        return False
    if s.manufacturers and (d.manufacturer or "").lower() not in lowered(s.manufacturers):
        return False
    if s.models and (d.model or "").lower() not in lowered(s.models):
        return False
    if s.abis and d.abi not in s.abis:
        return False
    if s.min_sdk is not None and (sdk is None or sdk < s.min_sdk):
        return False
    if s.max_sdk is not None and (sdk is None or sdk > s.max_sdk):
        return False
    if s.min_os_version and (not version or version < version_tuple(s.min_os_version)):
        return False
    if s.max_os_version:
        highest = version_tuple(s.max_os_version)
        if not version or version[: len(highest)] > highest:  # max "13" admits 13.1
            return False
    return s.emulator is None or d.emulator == s.emulator


def select(devices: list[Device], s: AdbSettings) -> list[Device]:
    """Apply the [adb] selection filters, in the order the devices were listed (serials in the given order)."""
    out = [d for d in devices if _matches(d, s)]
    if s.serials:
        out.sort(key=lambda d: s.serials.index(d.id))
    return out[: s.max_devices] if s.max_devices else out
