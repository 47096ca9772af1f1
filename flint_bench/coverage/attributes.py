"""Attribute matching: the nearest measured device of the same platform and tier.

Only devices of the user device's platform and tier are candidates (a tier is the first-order
proxy for speed and memory). Among them the distance adds, for each attribute both sides have:
  SoC family differs                 1
  RAM                                |log2(user RAM / measured RAM)|   (a factor of 2 = 1)
  OS major version                   |difference| / 4                  (4 majors = 1)
  release year                       |difference| / 2                  (2 years = 1)
The smallest distance wins; a tie goes to the measured device whose name sorts first, so the
mapping is the same on every run."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .names import PHONE_PLATFORMS, missing_to_none, normalise_platform, normalise_tier, number_or_none, os_major, soc_family

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Attributes:
    platform: str | None
    tier: str | None
    soc_family: str | None = None
    ram_mb: float | None = None
    os_major: int | None = None
    release_year: float | None = None

    def text(self) -> str:
        parts = [self.platform or "?", self.tier or "?"]
        parts += [f"SoC {self.soc_family}"] if self.soc_family else []
        parts += [f"{self.ram_mb:.0f} MB"] if self.ram_mb else []
        parts += [f"OS {self.os_major}"] if self.os_major is not None else []
        parts += [f"{self.release_year:.0f}"] if self.release_year else []
        return ", ".join(parts)


def distance(user: Attributes, measured: Attributes) -> float:
    """The documented distance (module docstring) between two devices of one platform and tier."""
    d = 0.0
    if user.soc_family and measured.soc_family:
        d += float(user.soc_family != measured.soc_family)
    if user.ram_mb and measured.ram_mb:
        d += abs(math.log2(user.ram_mb / measured.ram_mb))
    if user.os_major is not None and measured.os_major is not None:
        d += abs(user.os_major - measured.os_major) / 4
    if user.release_year and measured.release_year:
        d += abs(user.release_year - measured.release_year) / 2
    return d


def nearest(user: Attributes, measured: dict[str, Attributes]) -> tuple[str | None, str]:
    """(the measured device standing for `user`, why) or (None, why none can)."""
    if user.platform is None or user.tier is None:
        missing = "platform" if user.platform is None else "device tier"
        return None, f"no {missing} in the session log to match by attributes"
    candidates = sorted(n for n, a in measured.items() if a.platform == user.platform and a.tier == user.tier)
    if not candidates:
        return None, f"no measured {user.platform} device of tier {user.tier}"
    best = min(candidates, key=lambda n: distance(user, measured[n]))
    return best, f"nearest measured {user.platform} {user.tier} device (distance {distance(user, measured[best]):.2f})"


def _column(frame: pd.DataFrame, name: str) -> list[Any]:
    return frame[name].tolist() if name in frame.columns else [None] * len(frame)


def profile_platform(platform: Any, os_name: Any) -> str | None:
    """A profile row's platform: its `platform` column (what a local class stands for), else its OS
    when that is a phone OS (profiles written before the column existed); a host OS is none."""
    os_platform = normalise_platform(os_name)
    return normalise_platform(platform) or (os_platform if os_platform in PHONE_PLATFORMS else None)


def measured_devices(profiles: pd.DataFrame) -> dict[str, Attributes]:
    """Each measured device (a profile `device_model`) with its attributes. A device measured under
    several OS builds keeps the first row's; its OS major only when the measured OS is the platform
    itself (a local class's OS is the host's, not the phone's it stands for)."""
    out: dict[str, Attributes] = {}
    rows = zip(
        profiles["device_model"].tolist(),
        _column(profiles, "platform"),
        _column(profiles, "device_tier"),
        _column(profiles, "os"),
        _column(profiles, "os_version"),
        _column(profiles, "soc"),
        _column(profiles, "device_memory_mb"),
        _column(profiles, "release_year"),
        strict=True,
    )
    for name, platform, tier, os_name, os_version, soc, memory, year in rows:
        key = missing_to_none(name)
        if key is None or key in out:
            continue
        plat = profile_platform(platform, os_name)
        native = plat is not None and plat == normalise_platform(os_name)
        out[key] = Attributes(
            platform=plat,
            tier=normalise_tier(tier),
            soc_family=soc_family(soc),
            ram_mb=number_or_none(memory),
            os_major=os_major(os_version) if native else None,
            release_year=number_or_none(year),
        )
    return out
