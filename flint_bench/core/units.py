"""Units shared by records, profiles, budgets, the report and the simulator.

Sizes are decimal megabytes (1 MB = 10^6 bytes), as in the paper's Table 5; memory readings from
the OS come in bytes or KiB and are converted here, never by hand.
"""

from __future__ import annotations

MB = 1e6
KIB = 1024


def bytes_to_mb(n_bytes: float | None) -> float | None:
    return None if n_bytes is None else n_bytes / MB


def kib_to_mb(n_kib: float | None) -> float | None:
    return None if n_kib is None else n_kib * KIB / MB
