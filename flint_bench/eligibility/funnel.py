"""The eligibility funnel (the paper's Table 1), per sub-population, with fairness warnings.

Pure and vectorized: a normalised session frame in, numbers out. A criterion is a boolean mask over
session rows; a device counts as available under a set of criteria when at least one of its
sessions meets all of them at once (so A ∩ B needs a session on WiFi *with* battery >= 80%, not one
of each). Categorical columns are evaluated on their categories and broadcast through the codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.errors import UserError
from ..profiles.budgets import Budgets, version_at_least, version_tuple
from .rules import Criterion, RuleSet
from .schema import MISSING_IS_INFINITE

if TYPE_CHECKING:
    import pandas as pd

ALL = "all criteria"


def _index(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """(code per row, first row of each code, whether each code's rows are adjacent)."""
    import pandas as pd

    n = len(arr)
    if n and arr.dtype.kind in "iu" and bool(np.all(arr[1:] >= arr[:-1])):
        # Sorted (as `sessions synth` writes): a linear pass, no hashing.
        change = np.empty(n, dtype=bool)
        change[0] = True
        np.not_equal(arr[1:], arr[:-1], out=change[1:])
        return np.cumsum(change, dtype=np.int64) - 1, np.flatnonzero(change), True
    codes, uniques = pd.factorize(arr)
    first = np.empty(len(uniques), dtype=np.int64)
    first[codes[::-1]] = np.arange(n - 1, -1, -1)  # the last write wins: each code's first row
    return codes, first, False


@dataclass
class SessionTable:
    """Arrays of a session frame plus the unit index: `codes[i]` is row i's unit (a device, or a
    device-day) and `first[u]` one row of unit u (device-level attributes are read there)."""

    frame: pd.DataFrame
    codes: np.ndarray
    n_units: int
    first: np.ndarray
    n_devices: int
    device_first: np.ndarray  # one row of each device
    unit: str = "device"
    contiguous: bool = False  # each unit's rows are adjacent, starting at `first`
    _cache: dict = field(default_factory=dict)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, unit: str = "device") -> SessionTable:
        import pandas as pd

        ids = frame["device_id"]
        arr = ids.cat.codes.to_numpy() if isinstance(ids.dtype, pd.CategoricalDtype) else ids.to_numpy()
        dev_codes, dev_first, dev_contiguous = _index(arr)
        if unit == "device":
            return cls(frame, dev_codes, int(dev_first.size), dev_first, int(dev_first.size), dev_first, unit, dev_contiguous)
        if unit != "device_day":
            raise ValueError(unit)
        # A device-day: the day (since the log start) a session starts on.
        day = (frame["start"].to_numpy() // 86400).astype(np.int64)
        key = dev_codes * (int(day.max()) + 1) + day
        codes, first, contiguous = _index(key)
        return cls(frame, codes, int(first.size), first, int(dev_first.size), dev_first, unit, contiguous)

    def column(self, name: str) -> Any:
        if name in self._cache:
            return self._cache[name]
        import pandas as pd

        if name == "session_seconds":
            out = self.frame["end"].to_numpy() - self.frame["start"].to_numpy()
        elif name == "os_major":
            cat = self.frame["os_version"].cat
            majors = np.array([float(version_tuple(c)[0]) if version_tuple(c) else np.nan for c in cat.categories] + [np.nan])
            out = majors[cat.codes.to_numpy()]
        elif name == "os_band":
            codes, labels = self._os_band(None)
            out = pd.Categorical.from_codes(codes, categories=labels)
        else:
            s = self.frame[name]
            out = s.array if isinstance(s.dtype, pd.CategoricalDtype) else s.to_numpy()
        self._cache[name] = out
        return out

    def _os_band(self, rows: np.ndarray | None) -> tuple[np.ndarray, list[str]]:
        """'<platform> <major>' codes at `rows` (None: every row) and their labels."""
        plat, osv = self.frame["platform"].cat, self.frame["os_version"].cat
        pc, vc = plat.codes.to_numpy(), osv.codes.to_numpy()
        if rows is not None:
            pc, vc = pc[rows], vc[rows]
        labels = [f"{p} {version_tuple(v)[0] if version_tuple(v) else v}" for p in plat.categories for v in osv.categories]
        if not labels:
            return np.full(len(pc), -1, dtype=np.int64), []
        uniq, inv = np.unique(np.asarray(labels, dtype=object), return_inverse=True)
        bad = (pc < 0) | (vc < 0)
        combo = np.where(bad, 0, pc.astype(np.int64) * len(osv.categories) + vc)
        return np.where(bad, -1, inv[combo]), [str(u) for u in uniq]

    def values_at(self, name: str, rows: np.ndarray):
        """The column's value at `rows` (one row per unit or per device) as (codes, labels)."""
        import pandas as pd

        if name == "os_band" and name not in self._cache:
            return self._os_band(rows)  # a dimension only: no need to derive it for every row
        col = self.column(name)
        if isinstance(col, pd.Categorical):
            return np.asarray(col.codes)[rows], [str(c) for c in col.categories]
        uniq, inv = np.unique(np.asarray(col), return_inverse=True)
        return inv[rows], [str(u) for u in uniq]

    def any_per_unit(self, mask: np.ndarray) -> np.ndarray:
        if self.contiguous:
            # One linear pass over the rows (a gather + scatter is ~6x slower at 10M rows).
            return np.logical_or.reduceat(mask, self.first)
        out = np.zeros(self.n_units, dtype=bool)
        out[self.codes[mask]] = True
        return out


def _compare(values: np.ndarray, op: str, value: Any) -> np.ndarray:
    if op == "==":
        return values == value
    if op == "!=":
        return values != value
    if op == "<":
        return values < value
    if op == "<=":
        return values <= value
    if op == ">":
        return values > value
    if op == ">=":
        return values >= value
    if op == "in":
        return np.isin(values, value)
    if op == "not_in":
        return ~np.isin(values, value)
    raise ValueError(op)


def _version_pred(version: str, op: str, value: Any) -> bool:
    """Compare OS versions numerically ('9' < '10', '17' == '17.0'); an unparsable version fails."""
    import operator

    v = version_tuple(version)
    if not v:
        return False
    if op in ("in", "not_in"):
        hit = any(_pad(v, version_tuple(x))[0] == _pad(v, version_tuple(x))[1] for x in value)
        return hit if op == "in" else not hit
    a, b = _pad(v, version_tuple(value))
    return {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}[op](
        a, b
    )


def _pad(a: tuple, b: tuple) -> tuple[tuple, tuple]:
    w = max(len(a), len(b))
    return a + (0,) * (w - len(a)), b + (0,) * (w - len(b))


def criterion_mask(table: SessionTable, c: Criterion, compat: CompatLookup | None = None) -> np.ndarray:
    """Boolean mask over session rows: the rows that satisfy criterion `c`."""
    import pandas as pd

    if c.compat is not None:
        if compat is None:
            raise UserError(
                f"criterion '{c.name}' needs device profiles and budgets: pass --profiles FILE and "
                'set `budgets = "file.toml"` in the rules (or --budgets FILE).'
            )
        return compat.mask(table, c)
    col = table.column(c.field)
    if isinstance(col, pd.Categorical):
        cats = [str(x) for x in col.categories]
        codes = np.asarray(col.codes)
        if c.field == "os_version" and isinstance(c.value, dict):
            # Per-platform minimum: decide on each (platform, version) pair, then broadcast.
            plat = table.column("platform")
            pcats = [str(p) for p in plat.categories]
            lowered = {k.lower(): v for k, v in c.value.items()}
            lut = np.array(
                [[lowered.get(p.lower()) is None or _version_pred(v, c.op, lowered[p.lower()]) for v in cats] for p in pcats]
                + [[False] * len(cats)],
                dtype=bool,
            )
            pc = np.asarray(plat.codes)
            ok = lut[pc, np.where(codes < 0, 0, codes)] if len(cats) else np.zeros(len(codes), dtype=bool)
            return ok & (codes >= 0)
        if c.field == "os_version":
            keep = [_version_pred(x, c.op, c.value) for x in cats]
        else:
            keep = list(_compare(np.asarray(cats, dtype=object), c.op, c.value)) if cats else []
        lut = np.asarray(keep + [False], dtype=bool)  # code -1 (missing) -> the trailing False
        return lut[codes]
    values = np.asarray(col)
    value = c.value
    if values.dtype.kind == "M":
        # Criterion.validate already turned the value(s) into datetime.date
        value = np.array([np.datetime64(v, "D") for v in value]) if isinstance(value, list) else np.datetime64(value, "D")
        out = _compare(values, c.op, value)
        return out & ~np.isnat(values) if c.op in ("!=", "not_in") else out
    if values.dtype.kind in "iu" and isinstance(value, float) and value.is_integer():
        info = np.iinfo(values.dtype)
        if info.min <= value <= info.max:
            value = values.dtype.type(value)  # compare int8 with int8: no float64 cast of the column
    if c.field in MISSING_IS_INFINITE and values.dtype.kind == "f":
        values = np.where(np.isnan(values), np.inf, values)
    out = _compare(values, c.op, value)
    if values.dtype.kind == "f" and c.op in ("!=", "not_in"):
        out &= ~np.isnan(values)
    return out


@dataclass
class CompatLookup:
    """Which (platform, device model) pairs pass a target's device budgets, from the profiles."""

    profiles: pd.DataFrame
    budgets: Budgets
    budgets_file: str = "budgets"

    def mask(self, table: SessionTable, c: Criterion) -> np.ndarray:
        from ..profiles.budgets import check_compat

        ref = c.compat
        if ref.model not in set(self.profiles["model"]):
            raise UserError(
                f"criterion '{c.name}': model {ref.model!r} has no rows in the profiles; "
                f"profiled models are {sorted(set(self.profiles['model']))}."
            )
        target = self.budgets.target(ref.target, self.budgets_file)
        verdict = check_compat(self.profiles, self.budgets, models=[ref.model], targets=[ref.target])
        # A device model passes when every profiled OS build of it passes the device budgets (worst case).
        ok_by_model = {
            (str(os_).lower(), str(dm).lower()): bool(g["device_ok"].all())
            for (os_, dm), g in verdict.groupby(["os", "device_model"])
        }
        plat, model = table.column("platform"), table.column("device_model")
        pcats, mcats = [str(p) for p in plat.categories], [str(m) for m in model.categories]
        default = ref.unprofiled == "include"
        lut = np.array(
            [[ok_by_model.get((p.lower(), m.lower()), default) and target.allows_platform(p) for m in mcats] for p in pcats]
            + [[False] * len(mcats)],
            dtype=bool,
        )
        pc, mc = np.asarray(plat.codes), np.asarray(model.codes)
        device_ok = lut[pc, np.where(mc < 0, 0, mc)] & (mc >= 0) if mcats else np.zeros(len(mc), dtype=bool)
        osv = table.column("os_version")
        vcats = [str(v) for v in osv.categories]
        os_lut = np.array(
            [[target.min_os_for(p) is None or version_at_least(v, target.min_os_for(p)) for v in vcats] for p in pcats]
            + [[False] * len(vcats)],
            dtype=bool,
        )
        vc = np.asarray(osv.codes)
        os_ok = os_lut[pc, np.where(vc < 0, 0, vc)] & (vc >= 0) if vcats else np.zeros(len(vc), dtype=bool)
        return device_ok & os_ok


@dataclass
class Funnel:
    """What `evaluate` found. `to_dict()` is the JSON document of `flint-bench eligibility`.
    Shares are over units: devices (default) or device-days (`unit = "device_day"`)."""

    unit: str
    devices: int
    units: int
    sessions: int
    criteria: list[dict]
    all_of: list[str]
    all_criteria_devices: int
    all_criteria_share: float
    all_criteria_session_share: float
    subpopulations: list[dict]
    fairness_warnings: list[dict]
    fairness: dict
    availability: dict
    eligible_rows: np.ndarray = field(repr=False)

    def to_dict(self) -> dict:
        return {
            "unit": self.unit,
            "devices": self.devices,
            "units": self.units,
            "sessions": self.sessions,
            "criteria": self.criteria,
            "all_of": self.all_of,
            "all_criteria_devices": self.all_criteria_devices,
            "all_criteria_share": self.all_criteria_share,
            "all_criteria_session_share": self.all_criteria_session_share,
            "subpopulations": self.subpopulations,
            "fairness": self.fairness,
            "fairness_warnings": self.fairness_warnings,
            "availability": self.availability,
        }


def evaluate(
    frame: pd.DataFrame, rules: RuleSet, compat: CompatLookup | None = None, table: SessionTable | None = None
) -> Funnel:
    """The funnel over a normalised session frame (see schema.read_sessions)."""
    from .synth import hourly_active, trough_to_peak

    table = table or SessionTable.from_frame(frame, rules.unit)
    n_rows = len(frame)
    masks = {c.name: criterion_mask(table, c, compat) for c in rules.criteria}
    per_unit = {name: table.any_per_unit(m) for name, m in masks.items()}
    combined = [c.name for c in rules.combined]
    n_units = max(table.n_units, 1)

    def fraction(flags: np.ndarray, n: int) -> float:
        return np.count_nonzero(flags) / n if n else 0.0  # count_nonzero: no float copy of a bool array

    all_rows, cumulative = None, {}
    for name in combined:
        all_rows = masks[name].copy() if all_rows is None else np.logical_and(all_rows, masks[name], out=all_rows)
        # Share left after this criterion and every earlier one in `all_of` (the funnel's steps);
        # the first step is the criterion alone, no need to reduce it twice.
        cumulative[name] = per_unit[name] if len(cumulative) == 0 else table.any_per_unit(all_rows)
    if all_rows is None:
        all_rows = np.ones(n_rows, dtype=bool)
    all_units = cumulative[combined[-1]] if combined else table.any_per_unit(all_rows)
    criteria_out = [
        {
            "name": c.name,
            "family": c.family,
            "rule": c.text(),
            "description": c.description,
            "devices_alone": int(np.count_nonzero(per_unit[c.name])),
            "share_alone": fraction(per_unit[c.name], table.n_units),
            "session_share_alone": fraction(masks[c.name], n_rows),
            "cumulative_share": fraction(cumulative[c.name], table.n_units) if c.name in cumulative else None,
        }
        for c in rules.criteria
    ]
    per_unit[ALL] = all_units
    overall = {c["name"]: c["share_alone"] for c in criteria_out} | {ALL: fraction(all_units, n_units)}

    subpops, warnings = [], []
    fr = rules.fairness
    for dim in fr.dimensions:
        if dim not in frame.columns and dim != "os_band":
            continue  # an optional column (device_tier) this log does not have
        codes, labels = table.values_at(dim, table.first)
        dev_codes, _ = table.values_at(dim, table.device_first)
        valid = codes >= 0
        counts = np.bincount(codes[valid], minlength=len(labels))
        devices = np.bincount(dev_codes[dev_codes >= 0], minlength=len(labels))
        vcodes = codes[valid]
        shares = {name: np.bincount(vcodes[flags[valid]], minlength=len(labels)) for name, flags in per_unit.items()}
        for k in np.argsort(-devices, kind="stable"):
            if counts[k] == 0:
                continue
            share = {name: float(v[k] / counts[k]) for name, v in shares.items()}
            subpops.append(
                {
                    "dimension": dim,
                    "value": labels[k],
                    "devices": int(devices[k]),
                    "units": int(counts[k]),
                    "all_criteria_share": share[ALL],
                    "criteria": [{"name": c.name, "share_alone": share[c.name]} for c in rules.criteria],
                }
            )
            if devices[k] < fr.min_devices:
                continue
            for name in [c.name for c in rules.criteria] + [ALL]:
                if overall[name] <= 0:
                    continue
                ratio = share[name] / overall[name]
                if ratio < fr.min_ratio:
                    warnings.append(
                        {
                            "criterion": name,
                            "dimension": dim,
                            "value": labels[k],
                            "devices": int(devices[k]),
                            "share": share[name],
                            "overall_share": overall[name],
                            "ratio": ratio,
                            "message": (
                                f"'{name}' keeps {share[name]:.0%} of {dim}={labels[k]} {table.unit}s vs {overall[name]:.0%} "
                                f"overall (ratio {ratio:.2f} < {fr.min_ratio:g}): the rule under-represents this "
                                "sub-population; consider relaxing it."
                            ),
                        }
                    )
    # Figure 2 for the eligible sessions: how many are active in each hour of the log.
    start, end = frame["start"].to_numpy()[all_rows], frame["end"].to_numpy()[all_rows]
    hours = int(np.ceil(frame["end"].to_numpy().max() / 3600.0)) if n_rows else 0
    active = hourly_active(start, end, hours) if hours > 0 else np.zeros(0, dtype=np.int64)
    availability = {
        "hours": hours,
        "hourly_eligible_sessions": active.tolist(),
        "peak": int(active.max()) if active.size else 0,
        "trough_to_peak": trough_to_peak(active) if active.size >= 24 and active.max() > 0 else None,
    }
    return Funnel(
        unit=table.unit,
        devices=table.n_devices,
        units=table.n_units,
        sessions=n_rows,
        criteria=criteria_out,
        all_of=combined,
        all_criteria_devices=int(np.count_nonzero(all_units)),
        all_criteria_share=overall[ALL],
        all_criteria_session_share=fraction(all_rows, n_rows),
        subpopulations=subpops,
        fairness_warnings=warnings,
        availability=availability,
        fairness={"min_ratio": fr.min_ratio, "min_devices": fr.min_devices, "dimensions": fr.dimensions},
        eligible_rows=all_rows,
    )


def availability_traces(frame: pd.DataFrame, eligible_rows: np.ndarray) -> pd.DataFrame:
    """(device_id, start, end) in seconds since the log start of every session meeting all
    criteria, sorted by start, with device_model, platform and os_version for the simulator."""
    import pandas as pd

    idx = np.flatnonzero(eligible_rows)
    out = pd.DataFrame(
        {
            "device_id": frame["device_id"].to_numpy()[idx],
            "start": frame["start"].to_numpy()[idx].astype(np.float64),
            "end": frame["end"].to_numpy()[idx].astype(np.float64),
            "device_model": frame["device_model"].iloc[idx].reset_index(drop=True),
            "platform": frame["platform"].iloc[idx].reset_index(drop=True),
            "os_version": frame["os_version"].iloc[idx].reset_index(drop=True),
        }
    )
    return out.sort_values(["start", "device_id"], kind="stable", ignore_index=True)
