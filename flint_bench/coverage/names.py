"""Names and attributes as the mapping compares them: device models, platforms, SoC families,
OS majors. Session logs and farms spell the same phone differently ('Galaxy-A10', 'galaxy a10');
the comparison is on these normalised forms only, the tables keep the names as given."""

from __future__ import annotations

import math
import re
from typing import Any

from ..core.versions import version_tuple

TIERS = ("low", "mid", "high")
PHONE_PLATFORMS = ("Android", "iOS")
_SEPARATORS = re.compile(r"[\W_]+")
_GLOB_SEPARATORS = re.compile(r"[^\w*?\[\]!]+|_+")
# vendor words a SoC name may carry before its family ('Qualcomm Snapdragon 8 Gen 2' -> snapdragon)
_SOC_VENDORS = {"qualcomm", "samsung", "google", "mediatek", "hisilicon", "apple", "unisoc", "spreadtrum"}
_APPLE_CHIP = re.compile(r"^a\d+")


def normalise_model(name: str) -> str:
    """'Samsung  Galaxy-A10 ' -> 'samsung galaxy a10': case-folded, punctuation and runs of space
    folded to one space."""
    return _SEPARATORS.sub(" ", str(name).casefold()).strip()


def normalise_pattern(pattern: str) -> str:
    """A glob pattern normalised like a model name, keeping the glob characters * ? [ ] !."""
    return _GLOB_SEPARATORS.sub(" ", pattern.casefold()).strip()


def normalise_platform(value: Any) -> str | None:
    """'android' -> 'Android', 'IOS' -> 'iOS', 'iPadOS' -> 'iOS'; another OS keeps its name; empty -> None."""
    text = missing_to_none(value)
    if text is None:
        return None
    folded = text.casefold()
    if folded == "android":
        return "Android"
    if folded in ("ios", "ipados"):
        return "iOS"
    return text


def normalise_tier(value: Any) -> str | None:
    text = missing_to_none(value)
    return text.casefold() if text is not None and text.casefold() in TIERS else None


def soc_family(soc: Any) -> str | None:
    """The SoC's family: 'Qualcomm Snapdragon 8 Gen 2' -> 'snapdragon', 'Google Tensor G2' -> 'tensor',
    'Apple A15 Bionic' -> 'apple a'; the first word otherwise."""
    text = missing_to_none(soc)
    if text is None:
        return None
    words = normalise_model(text).split()
    while len(words) > 1 and words[0] in _SOC_VENDORS:
        if words[0] == "apple" and _APPLE_CHIP.match(words[1]):
            return "apple a"
        words = words[1:]
    return words[0] if words else None


def os_major(version: Any) -> int | None:
    parts = version_tuple(missing_to_none(version) or "")
    return parts[0] if parts else None


def missing_to_none(value: Any) -> str | None:
    """A cell as text, or None when it is missing (None, NaN, empty)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or type(value).__name__ == "NAType":
        return None
    text = str(value).strip()
    return text or None


def number_or_none(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) and x > 0 else None
