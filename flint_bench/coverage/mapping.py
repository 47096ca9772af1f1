"""The join between the device models of a session log and the measured devices of a profiles
table. Policy, in order, per user device model:
  1. exact: the same normalised name (or manufacturer + name) on the same platform;
  2. file: the first row of the explicit mapping file whose glob pattern matches the name;
  3. attributes: the nearest measured device of the same platform and tier (attributes.py);
  4. unknown: none of the above; the device model stays in the table with the reason.
Every user device model of the log is one row of the table: none is dropped or merged."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast

from ..core.errors import UserError
from .attributes import Attributes, measured_devices, nearest, profile_platform
from .figures import CoverageSummary, coverage_of
from .mapfile import MappingFile
from .names import missing_to_none, normalise_model, normalise_platform, normalise_tier, number_or_none, os_major, soc_family

if TYPE_CHECKING:
    import pandas as pd

Match = Literal["exact", "file", "attributes", "unknown"]
MATCHES: tuple[Match, ...] = ("exact", "file", "attributes", "unknown")
TABLE_COLUMNS = ["device_model", "platform", "device_tier", "devices", "sessions", "measured_device", "match", "reason"]
# optional session-log columns the attribute distance reads when the log has them
ATTRIBUTE_COLUMNS = ("device_tier", "soc", "ram_mb", "release_year")


@dataclass
class DeviceMapping:
    table: pd.DataFrame  # TABLE_COLUMNS, one row per (platform, user device model)
    measured: dict[str, Attributes] = field(repr=False)
    _by_key: dict[tuple[str, str], str | None] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for model, platform, measured in zip(
            self.table["device_model"], self.table["platform"], self.table["measured_device"], strict=True
        ):
            self._by_key[(missing_to_none(platform) or "", normalise_model(str(model)))] = missing_to_none(measured)

    def measured_for(self, device_model: str, platform: str | None = None) -> str | None:
        """The measured device standing for a user device model (on `platform`, else on any platform)."""
        name = normalise_model(device_model)
        if platform is not None:
            return self._by_key.get((normalise_platform(platform) or "", name))
        return next((m for (_, n), m in self._by_key.items() if n == name and m is not None), None)

    def coverage(self) -> CoverageSummary:
        return coverage_of(self.table, list(self.measured))


def _mode(first: pd.DataFrame, column: str) -> dict[tuple[Any, Any], Any]:
    """The most common value of `column` per (platform, device model) over devices."""
    if column not in first.columns:
        return {}
    counts = first.groupby(["platform", "device_model", column], observed=True, dropna=True).size()
    counts = counts[counts > 0].sort_values(ascending=False, kind="stable")
    out: dict[tuple[Any, Any], Any] = {}
    for key in counts.index:
        platform, model, value = cast(tuple[Any, Any, Any], key)
        out.setdefault((platform, model), value)
    return out


def user_devices(sessions: pd.DataFrame) -> list[dict[str, Any]]:
    """One entry per (platform, device model) of the log: devices, sessions and the attributes
    (the most common value over its devices)."""
    for column in ("device_id", "platform", "device_model"):
        if column not in sessions.columns:
            raise UserError(
                f"session log: column '{column}' missing; the device mapping needs device_id, platform and device_model."
            )
    keys = ["platform", "device_model"]
    n_sessions = sessions.groupby(keys, observed=True, dropna=False).size()
    first = sessions.drop_duplicates("device_id")
    n_devices = first.groupby(keys, observed=True, dropna=False).size()
    modes = {c: _mode(first, c) for c in (*ATTRIBUTE_COLUMNS, "os_version") if c in first.columns}
    out = []
    for index, count in n_sessions.items():
        if count == 0:
            continue
        key = cast(tuple[Any, Any], index)
        platform, model = key
        out.append(
            {
                "device_model": missing_to_none(model) or "(no model)",
                "platform": normalise_platform(platform),
                "devices": int(n_devices.get(key, 0)),
                "sessions": int(count),
                "attributes": Attributes(
                    platform=normalise_platform(platform),
                    tier=normalise_tier(modes.get("device_tier", {}).get(key)),
                    soc_family=soc_family(modes.get("soc", {}).get(key)),
                    ram_mb=number_or_none(modes.get("ram_mb", {}).get(key)),
                    os_major=os_major(modes.get("os_version", {}).get(key)),
                    release_year=number_or_none(modes.get("release_year", {}).get(key)),
                ),
            }
        )
    return out


def _exact_index(profiles: pd.DataFrame) -> dict[tuple[str | None, str], str]:
    """(platform, normalised name) -> measured device, by its name and by manufacturer + name."""
    index: dict[tuple[str | None, str], str] = {}
    manufacturers = profiles["manufacturer"].tolist() if "manufacturer" in profiles.columns else [None] * len(profiles)
    platforms = profiles["platform"].tolist() if "platform" in profiles.columns else [None] * len(profiles)
    rows = zip(profiles["device_model"].tolist(), platforms, profiles["os"].tolist(), manufacturers, strict=True)
    for name, platform, os_name, manufacturer in rows:
        plat = profile_platform(platform, os_name)
        index.setdefault((plat, normalise_model(str(name))), str(name))
        if maker := missing_to_none(manufacturer):
            index.setdefault((plat, normalise_model(f"{maker} {name}")), str(name))
    return index


def map_devices(sessions: pd.DataFrame, profiles: pd.DataFrame, mapping: MappingFile | None = None) -> DeviceMapping:
    """Map each user device model of `sessions` to a measured device of `profiles` (module docstring).
    A mapping-file row naming a device the profiles do not have is a user error naming the row."""
    import pandas as pd

    measured = measured_devices(profiles)
    exact = _exact_index(profiles)
    by_name = {normalise_model(n): n for n in measured}
    rows = []
    for user in user_devices(sessions):
        attrs: Attributes = user["attributes"]
        name = normalise_model(user["device_model"])
        hit, match, reason = exact.get((attrs.platform, name)), "exact", "same model name"
        if hit is None and mapping is not None and (rule := mapping.first_match(user["device_model"])) is not None:
            hit = by_name.get(normalise_model(rule.measured))
            if hit is None:
                raise UserError(
                    f"{mapping.path}: {rule.where}: measured device {rule.measured!r} is not in the profiles; "
                    f"measured devices are {sorted(measured)}."
                )
            match, reason = "file", f"{mapping.path} {rule.where}: pattern {rule.pattern!r}"
        if hit is None:
            hit, reason = nearest(attrs, measured)
            match = "attributes" if hit is not None else "unknown"
        rows.append(
            {
                "device_model": user["device_model"],
                "platform": attrs.platform,
                "device_tier": attrs.tier,
                "devices": user["devices"],
                "sessions": user["sessions"],
                "measured_device": hit,
                "match": match,
                "reason": reason,
            }
        )
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS).sort_values(
        ["sessions", "device_model"], ascending=[False, True], kind="stable"
    )
    return DeviceMapping(table.reset_index(drop=True), measured)
