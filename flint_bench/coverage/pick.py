"""Which devices of a farm to book: the K devices of its catalog that cover the most sessions of
a log, by greedy cover (cloud farms charge by the device-minute).

A catalog device covers the sessions of a user device of the same platform when
  - it is the same model (normalised name, or manufacturer + name), or
  - it has the same tier, and the same OS major version and SoC family where both sides know them.
A catalog device without a tier takes the tier the log gives its model; without either it covers
only its own model. Each step adds the device covering the most sessions not yet covered (ties:
catalog order) and stops early when no device adds any."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.errors import UserError
from .names import missing_to_none, normalise_model, normalise_platform, normalise_tier, os_major, soc_family

if TYPE_CHECKING:
    import pandas as pd

    from ..farms.base import Device


@dataclass
class PickStep:
    device: Device
    sessions_added_share: float  # share of all sessions this device newly covers
    cumulative_share: float  # share of sessions covered by the devices picked so far
    devices_added_share: float  # the same over user devices
    cumulative_device_share: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "device": self.device.as_record(),
            "sessions_added_share": self.sessions_added_share,
            "cumulative_share": self.cumulative_share,
            "devices_added_share": self.devices_added_share,
            "cumulative_device_share": self.cumulative_device_share,
        }


def _groups(sessions: pd.DataFrame) -> pd.DataFrame:
    """Sessions and devices per (platform, device model, tier, OS major, SoC family). The raw columns
    are grouped first (categoricals: fast on a large log), the few groups then normalised."""
    raw = [c for c in ("platform", "device_model", "device_tier", "os_version", "soc") if c in sessions.columns]
    counted = sessions.groupby(raw, observed=True, dropna=False).agg(
        sessions=("device_id", "size"), devices=("device_id", "nunique")
    )
    counted = counted[counted["sessions"] > 0].reset_index()
    normalisers = {
        "platform": ("platform", normalise_platform),
        "device_model": ("name", lambda m: normalise_model(missing_to_none(m) or "")),
        "device_tier": ("tier", normalise_tier),
        "os_version": ("os", os_major),
        "soc": ("soc", soc_family),
    }
    for column, (key, fn) in normalisers.items():
        values = [fn(v) for v in counted[column]] if column in counted.columns else [None] * len(counted)
        counted[key] = ["" if v is None else v for v in values]
    keys = ["platform", "name", "tier", "os", "soc"]
    return counted.groupby(keys, sort=True)[["sessions", "devices"]].sum().reset_index()


def _covers(device: Device, groups: pd.DataFrame, tier_of_model: dict[tuple[str, str], str]) -> np.ndarray:
    platform = normalise_platform(device.platform) or normalise_platform(device.os)
    names = {normalise_model(device.model or device.id)}
    if device.manufacturer:
        names.add(normalise_model(f"{device.manufacturer} {device.model or device.id}"))
    same_platform = (groups["platform"] == (platform or "")).to_numpy()
    exact = groups["name"].isin(names).to_numpy()
    tier = normalise_tier(device.tier) or next(
        (tier_of_model[(platform or "", n)] for n in names if (platform or "", n) in tier_of_model), None
    )
    if tier is None:
        return same_platform & exact
    attrs = (groups["tier"] == tier).to_numpy()
    for column, value in (
        ("os", os_major(device.os_version) if platform == normalise_platform(device.os) else None),
        ("soc", soc_family(device.soc)),
    ):
        if value is not None:
            attrs = attrs & ((groups[column] == "") | (groups[column] == value)).to_numpy()
    return same_platform & (exact | attrs)


def pick_devices(sessions: pd.DataFrame, catalog: list[Device], count: int) -> list[PickStep]:
    """Up to `count` devices of `catalog`, in the order greedy cover picks them (module docstring)."""
    if count < 1:
        raise UserError(f"--count: expected at least 1 device, got {count}.")
    groups = _groups(sessions)
    known = groups[groups["tier"] != ""]
    tier_of_model = {(p, n): t for p, n, t in zip(known["platform"], known["name"], known["tier"], strict=True)}
    cover = np.array([_covers(d, groups, tier_of_model) for d in catalog], dtype=bool).reshape(len(catalog), len(groups))
    s_w, d_w = groups["sessions"].to_numpy(dtype=float), groups["devices"].to_numpy(dtype=float)
    s_total, d_total = max(s_w.sum(), 1.0), max(d_w.sum(), 1.0)
    covered = np.zeros(len(groups), dtype=bool)
    steps: list[PickStep] = []
    left = list(range(len(catalog)))
    while left and len(steps) < count:
        gains = [float(s_w[cover[i] & ~covered].sum()) for i in left]
        best = int(np.argmax(gains))  # the first of equal gains: catalog order
        if gains[best] <= 0:
            break
        i = left.pop(best)
        added = cover[i] & ~covered
        covered |= added
        steps.append(
            PickStep(
                catalog[i],
                sessions_added_share=float(s_w[added].sum() / s_total),
                cumulative_share=float(s_w[covered].sum() / s_total),
                devices_added_share=float(d_w[added].sum() / d_total),
                cumulative_device_share=float(d_w[covered].sum() / d_total),
            )
        )
    return steps
