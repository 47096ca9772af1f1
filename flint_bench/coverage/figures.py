"""Coverage figures of a device mapping: the share of user devices and of sessions whose compute
profile is measured exactly, mapped (by the mapping file or by attributes), or unknown; overall
and per platform x tier."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

KINDS = ("exact", "file", "attributes", "unknown")


def _shares(frame: pd.DataFrame, weight: str) -> dict[str, float]:
    total = float(frame[weight].sum())
    by_kind = frame.groupby("match")[weight].sum()
    return {k: float(by_kind.get(k, 0)) / total if total else 0.0 for k in KINDS}


@dataclass
class CoverageSummary:
    devices: dict[str, float]  # share of user devices by match kind
    sessions: dict[str, float]  # share of sessions by match kind
    by_group: list[dict[str, Any]]  # per platform x tier: devices, sessions and the same shares
    unmapped: list[str]  # user device models no measured device stands for, most sessions first
    n_devices: int
    n_sessions: int
    n_device_models: int
    measured_devices: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "devices": self.n_devices,
            "sessions": self.n_sessions,
            "device_models": self.n_device_models,
            "measured_devices": self.measured_devices,
            "device_share": self.devices,
            "session_share": self.sessions,
            "by_group": self.by_group,
            "unmapped": self.unmapped,
            "warning": self.warning(),
        }

    @property
    def mapped_session_share(self) -> float:
        return 1.0 - self.sessions["unknown"]

    def warning(self) -> str | None:
        """Set when no user device maps to any measured device: every compute figure is then a guess."""
        if self.n_device_models == 0 or self.devices["unknown"] < 1.0:
            return None
        measured = ", ".join(self.measured_devices) or "none"
        return (
            f"no device model of the session log maps to a measured device (measured: {measured}): "
            "give the measured devices a platform and tier (a local farm class's `platform` and `tier`), "
            "or a mapping file (--device-map), or measure devices of the log's platforms and tiers"
        )


def coverage_of(table: pd.DataFrame, measured_devices: list[str] | None = None) -> CoverageSummary:
    """The coverage figures of a mapping table (mapping.TABLE_COLUMNS)."""
    groups = []
    keyed = table.assign(
        platform=table["platform"].fillna("(none)").astype(str), device_tier=table["device_tier"].fillna("(none)").astype(str)
    )
    for (platform, tier), g in keyed.groupby(["platform", "device_tier"], sort=True):
        groups.append(
            {
                "platform": platform,
                "device_tier": tier,
                "device_models": len(g),
                "devices": int(g["devices"].sum()),
                "sessions": int(g["sessions"].sum()),
                "device_share": _shares(g, "devices"),
                "session_share": _shares(g, "sessions"),
            }
        )
    unknown = table[table["match"] == "unknown"]
    return CoverageSummary(
        devices=_shares(table, "devices"),
        sessions=_shares(table, "sessions"),
        by_group=groups,
        unmapped=[str(m) for m in unknown.sort_values("sessions", ascending=False, kind="stable")["device_model"]],
        n_devices=int(table["devices"].sum()),
        n_sessions=int(table["sessions"].sum()),
        n_device_models=len(table),
        measured_devices=sorted(measured_devices or []),
    )
