"""A criterion as a boolean mask over session rows: field rules (operators on numbers, dates,
categories and OS versions) and `compat` rules (device profiles judged against budgets)."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ..budgets import Budgets, check_compat
from ..core.errors import UserError
from ..core.versions import version_at_least, version_tuple
from ..coverage import DeviceMapping, map_devices
from ..coverage.attributes import profile_platform
from .rules import CompatRef, Criterion
from .schema import MISSING_IS_INFINITE
from .table import SessionTable

if TYPE_CHECKING:
    import pandas as pd

Mask = npt.NDArray[np.bool_]


_ORDER: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _compare(values: npt.NDArray[Any], op: str, value: Any) -> Mask:
    if op == "in":
        return np.isin(values, value)
    if op == "not_in":
        return ~np.isin(values, value)
    return np.asarray(_ORDER[op](values, value), dtype=bool)


def _version_pred(version: str, op: str, value: Any) -> bool:
    """Compare OS versions numerically ('9' < '10', '17' == '17.0'); an unparsable version fails."""
    if not version_tuple(version):
        return False
    if op in ("in", "not_in"):
        hit = any(_version_pred(version, "==", x) for x in value)
        return hit if op == "in" else not hit
    at_least, at_most = version_at_least(version, value), version_at_least(value, version)
    return {
        "==": at_least and at_most,
        "!=": not (at_least and at_most),
        "<": not at_least,
        "<=": at_most,
        ">": not at_most,
        ">=": at_least,
    }[op]


def _lookup(table: Mask, row_codes: npt.NDArray[Any], col_codes: npt.NDArray[Any]) -> Mask:
    """table[row, col] per session; a missing category (code -1) meets nothing."""
    if table.shape[1] == 0:
        return np.zeros(len(col_codes), dtype=bool)
    return table[row_codes, np.where(col_codes < 0, 0, col_codes)] & (col_codes >= 0)


def _per_platform_lut(table: SessionTable, decide: Callable[[str, str], bool], column: str) -> Mask:
    """A (platform, category of `column`) lookup table decided once per pair, then broadcast."""
    plat, col = table.column("platform"), table.column(column)
    pcats, cats = [str(p) for p in plat.categories], [str(v) for v in col.categories]
    lut = np.array([[decide(p, v) for v in cats] for p in pcats] + [[False] * len(cats)], dtype=bool)
    return _lookup(lut, np.asarray(plat.codes), np.asarray(col.codes))


def _categorical_mask(table: SessionTable, c: Criterion, col: pd.Categorical) -> Mask:
    op, value = str(c.op), c.operand
    if c.field == "os_version" and isinstance(value, dict):
        # A minimum per platform; a platform without one passes.
        lowered = {k.lower(): v for k, v in value.items()}
        return _per_platform_lut(
            table, lambda p, v: lowered.get(p.lower()) is None or _version_pred(v, op, lowered[p.lower()]), "os_version"
        )
    cats = [str(x) for x in col.categories]
    if c.field == "os_version":
        keep = [_version_pred(x, op, value) for x in cats]
    else:
        keep = list(_compare(np.asarray(cats, dtype=object), op, value)) if cats else []
    lut = np.asarray([*keep, False], dtype=bool)  # code -1 (missing) -> the trailing False
    return lut[np.asarray(col.codes)]


def _array_mask(c: Criterion, values: npt.NDArray[Any]) -> Mask:
    op, value = str(c.op), c.operand
    if values.dtype.kind == "M":
        value = np.array([np.datetime64(v, "D") for v in value]) if isinstance(value, list) else np.datetime64(value, "D")
        out = _compare(values, op, value)
        return out & ~np.isnat(values) if op in ("!=", "not_in") else out
    if values.dtype.kind in "iu" and isinstance(value, float) and value.is_integer():
        info = np.iinfo(values.dtype)
        if info.min <= value <= info.max:
            value = values.dtype.type(value)  # compare int8 with int8: no float64 cast of the column
    if c.field in MISSING_IS_INFINITE and values.dtype.kind == "f":
        values = np.where(np.isnan(values), np.inf, values)
    out = _compare(values, op, value)
    if values.dtype.kind == "f" and op in ("!=", "not_in"):
        out &= ~np.isnan(values)
    return out


def criterion_mask(table: SessionTable, c: Criterion, compat: CompatLookup | None = None) -> Mask:
    """Boolean mask over session rows: the rows that satisfy criterion `c`."""
    import pandas as pd

    if c.compat is not None:
        if compat is None:
            raise UserError(
                f"criterion '{c.name}' needs device profiles and budgets: pass --profiles FILE and "
                'set `budgets = "file.toml"` in the rules (or --budgets FILE).'
            )
        return compat.mask(table, c.name, c.compat)
    col = table.column(str(c.field))
    if isinstance(col, pd.Categorical):
        return _categorical_mask(table, c, col)
    return _array_mask(c, np.asarray(col))


@dataclass
class CompatLookup:
    """Which (platform, device model) pairs pass a target's device budgets: each device model of the
    log takes the verdict of the measured device standing for it (the device mapping: exact name,
    mapping file, or nearest of the same platform and tier; flint_bench.coverage)."""

    profiles: pd.DataFrame
    budgets: Budgets
    mapping: DeviceMapping | None = None  # None: mapped from the session table on first use, without a file
    warnings: list[str] = field(default_factory=list)  # criteria that match no measured device

    def device_mapping(self, table: SessionTable) -> DeviceMapping:
        if self.mapping is None:
            self.mapping = map_devices(table.frame, self.profiles)
        return self.mapping

    def mask(self, table: SessionTable, name: str, ref: CompatRef) -> Mask:
        profiled = set(self.profiles["model"])
        if ref.model not in profiled:
            raise UserError(
                f"criterion '{name}': model {ref.model!r} has no rows in the profiles; profiled models are {sorted(profiled)}."
            )
        target = self.budgets.target(ref.target)
        # A stand-in device (a local class) is judged as the platform it stands for, not its host OS.
        platforms = self.profiles["platform"] if "platform" in self.profiles.columns else [None] * len(self.profiles)
        judged = self.profiles.assign(
            os=[profile_platform(p, o) or o for p, o in zip(platforms, self.profiles["os"], strict=True)]
        )
        verdict = check_compat(judged, self.budgets, models=[ref.model], targets=[ref.target])
        # A measured device passes when every profiled OS build of it passes the device budgets (worst case).
        ok_by_measured = {str(dm): bool(g["device_ok"].all()) for dm, g in verdict.groupby("device_model")}
        mapping = self.device_mapping(table)
        if not any(m in ok_by_measured for m in mapping.table["measured_device"].dropna()):
            self.warnings.append(
                f"criterion '{name}': no device model of the session log maps to a measured device with a profile of "
                f"model {ref.model!r} (measured: {', '.join(sorted(ok_by_measured))}), so every device counts as "
                f"unprofiled ({ref.unprofiled}). Give the measured devices a platform and tier, or pass a device mapping file."
            )
        default = ref.unprofiled == "include"

        def device_ok(platform: str, device_model: str) -> bool:
            measured = mapping.measured_for(device_model, platform)
            ok = ok_by_measured.get(measured, default) if measured is not None else default
            return ok and target.allows_platform(platform)

        def os_ok(platform: str, version: str) -> bool:
            need = target.min_os_for(platform)
            return need is None or version_at_least(version, need)

        return _per_platform_lut(table, device_ok, "device_model") & _per_platform_lut(table, os_ok, "os_version")
