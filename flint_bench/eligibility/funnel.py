"""The eligibility funnel (the paper's Table 1), per sub-population, with fairness warnings.

Pure and vectorized: a normalised session frame in, numbers out. A device counts as available
under a set of criteria when at least one of its sessions meets all of them at once (so A ∩ B
needs a session on WiFi *with* battery >= 80%, not one of each).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .availability import hourly_active, trough_to_peak
from .criteria import CompatLookup, Mask, criterion_mask
from .rules import RuleSet
from .table import SessionTable

if TYPE_CHECKING:
    import pandas as pd

ALL = "all criteria"


@dataclass
class Funnel:
    """What `evaluate` found. `to_dict()` is the JSON document of `flint-bench eligibility`.
    Shares are over units: devices (default) or device-days (`unit = "device_day"`)."""

    unit: str
    devices: int
    units: int
    sessions: int
    criteria: list[dict[str, Any]]
    all_of: list[str]
    all_criteria_devices: int
    all_criteria_share: float
    all_criteria_session_share: float
    subpopulations: list[dict[str, Any]]
    fairness_warnings: list[dict[str, Any]]
    fairness: dict[str, Any]
    availability: dict[str, Any]
    eligible_rows: Mask = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
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


def _fraction(flags: Mask, n: int) -> float:
    return np.count_nonzero(flags) / n if n else 0.0  # count_nonzero: no float copy of a bool array


def _warning(
    name: str, dim: str, value: str, devices: int, share: float, overall: float, unit: str, min_ratio: float
) -> dict[str, Any]:
    ratio = share / overall
    return {
        "criterion": name,
        "dimension": dim,
        "value": value,
        "devices": devices,
        "share": share,
        "overall_share": overall,
        "ratio": ratio,
        "message": (
            f"'{name}' keeps {share:.0%} of {dim}={value} {unit}s vs {overall:.0%} "
            f"overall (ratio {ratio:.2f} < {min_ratio:g}): the rule under-represents this "
            "sub-population; consider relaxing it."
        ),
    }


def _subpopulations(
    frame: pd.DataFrame, table: SessionTable, rules: RuleSet, per_unit: dict[str, Mask], overall: dict[str, float]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Each fairness dimension's values with every criterion's share, and the warnings where a
    criterion keeps a sub-population's share below `min_ratio` x the overall share."""
    subpops, warnings = [], []
    fr = rules.fairness
    names = [c.name for c in rules.criteria]
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
                    "criteria": [{"name": n, "share_alone": share[n]} for n in names],
                }
            )
            if devices[k] < fr.min_devices:
                continue
            for name in [*names, ALL]:
                if overall[name] > 0 and share[name] / overall[name] < fr.min_ratio:
                    warnings.append(
                        _warning(name, dim, labels[k], int(devices[k]), share[name], overall[name], table.unit, fr.min_ratio)
                    )
    return subpops, warnings


def _availability(frame: pd.DataFrame, rows: Mask) -> dict[str, Any]:
    """Figure 2 for the eligible sessions: how many are active in each hour of the log."""
    start, end = frame["start"].to_numpy()[rows], frame["end"].to_numpy()[rows]
    hours = int(np.ceil(frame["end"].to_numpy().max() / 3600.0)) if len(frame) else 0
    active = hourly_active(start, end, hours) if hours > 0 else np.zeros(0, dtype=np.int64)
    return {
        "hours": hours,
        "hourly_eligible_sessions": active.tolist(),
        "peak": int(active.max()) if active.size else 0,
        "trough_to_peak": trough_to_peak(active) if active.size >= 24 and active.max() > 0 else None,
    }


def evaluate(
    frame: pd.DataFrame, rules: RuleSet, compat: CompatLookup | None = None, table: SessionTable | None = None
) -> Funnel:
    """The funnel over a normalised session frame (see schema.read_sessions)."""
    table = table or SessionTable.from_frame(frame, rules.unit)
    n_rows = len(frame)
    masks = {c.name: criterion_mask(table, c, compat) for c in rules.criteria}
    per_unit = {name: table.any_per_unit(m) for name, m in masks.items()}
    combined = [c.name for c in rules.combined]

    all_rows: Mask | None = None
    cumulative: dict[str, Mask] = {}
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
            "family": c.effective_family,
            "rule": c.text(),
            "description": c.description,
            "devices_alone": int(np.count_nonzero(per_unit[c.name])),
            "share_alone": _fraction(per_unit[c.name], table.n_units),
            "session_share_alone": _fraction(masks[c.name], n_rows),
            "cumulative_share": _fraction(cumulative[c.name], table.n_units) if c.name in cumulative else None,
        }
        for c in rules.criteria
    ]
    per_unit[ALL] = all_units
    all_share = _fraction(all_units, max(table.n_units, 1))
    overall = {c.name: _fraction(per_unit[c.name], table.n_units) for c in rules.criteria} | {ALL: all_share}
    subpops, warnings = _subpopulations(frame, table, rules, per_unit, overall)
    fr = rules.fairness
    return Funnel(
        unit=table.unit,
        devices=table.n_devices,
        units=table.n_units,
        sessions=n_rows,
        criteria=criteria_out,
        all_of=combined,
        all_criteria_devices=int(np.count_nonzero(all_units)),
        all_criteria_share=all_share,
        all_criteria_session_share=_fraction(all_rows, n_rows),
        subpopulations=subpops,
        fairness_warnings=warnings,
        availability=_availability(frame, all_rows),
        fairness={"min_ratio": fr.min_ratio, "min_devices": fr.min_devices, "dimensions": list(fr.dimensions)},
        eligible_rows=all_rows,
    )
