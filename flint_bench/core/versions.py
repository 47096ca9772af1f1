"""Version strings of OSes, runtimes and tools, compared one way everywhere.

A version is its leading run of dotted numbers: '17.2.1' -> (17, 2, 1), '6.18.44-fc' -> (6, 18, 44),
'14' -> (14,). Anything without one ('', None, 'beta') is () and counts as unknown: it is never
at least a minimum, and it sorts before every known version.
"""

from __future__ import annotations

import re

_LEADING = re.compile(r"\s*[vV]?(\d+(?:\.\d+)*)")


def version_tuple(version: object) -> tuple[int, ...]:
    if version is None:
        return ()
    m = _LEADING.match(str(version))
    return tuple(int(p) for p in m.group(1).split(".")) if m else ()


def _padded(a: tuple[int, ...], width: int) -> tuple[int, ...]:
    return a + (0,) * (width - len(a))


def version_at_least(version: object, minimum: object) -> bool:
    """True when `version` is known and not older than `minimum` ('14' == '14.0')."""
    v, lo = version_tuple(version), version_tuple(minimum)
    width = max(len(v), len(lo))
    return bool(v) and _padded(v, width) >= _padded(lo, width)


def version_sort_key(version: object) -> tuple[int, ...]:
    """A key that orders versions numerically; unknown versions first."""
    return version_tuple(version)
