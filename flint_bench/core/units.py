"""Units shared by records, profiles, budgets, the report and the simulator: the only place for them.

Two kinds of "MB", as the paper's Table 5 uses them:
- sizes of files and traffic (storage, network) are decimal megabytes: 1 MB = 10^6 bytes;
- memory figures (the record's `memory.*_mb`, device RAM) are mebibytes, 2^20 bytes, the unit in
  which Android's meminfo, iOS and psutil-based tools report memory.
"""

from __future__ import annotations

MB = 1e6
MIB = 2**20
KIB = 1024


def bytes_to_mb(n_bytes: float | None) -> float | None:
    """File and network sizes: bytes -> decimal MB."""
    return None if n_bytes is None else n_bytes / MB


def bytes_to_mib(n_bytes: float) -> float:
    """Memory: bytes (psutil RSS, device RAM) -> MiB."""
    return n_bytes / MIB


def kib_to_mib(n_kib: float) -> float:
    """Memory: KiB (dumpsys meminfo, /proc, getrusage on Linux) -> MiB."""
    return n_kib / KIB
