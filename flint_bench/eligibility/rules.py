"""Eligibility rules in TOML: named criteria in three families (compute capability, device state,
user attributes), the set that must all hold, and the fairness check's settings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..core.config import from_dict, read_toml
from ..core.errors import ConfigError
from ..profiles.budgets import version_tuple
from .schema import FIELDS

FAMILIES = ("compute", "device_state", "user")
OPS = ("==", "!=", "<", "<=", ">", ">=", "in", "not_in")
ORDER_OPS = ("<", "<=", ">", ">=")
DIMENSIONS = ("platform", "device_tier", "os_band", "device_model", "os_version")


@dataclass
class CompatRef:
    """Compute capability from benchmarks: the device model's profile must meet `target`'s budgets
    for ML model `model`, and the session's OS version the target's minimum."""

    model: str
    target: str
    unprofiled: Literal["exclude", "include"] = "exclude"  # device models without a profile


@dataclass
class Criterion:
    name: str
    field: str | None = None
    op: str | None = None
    value: Any = None
    compat: CompatRef | None = None
    family: Literal["compute", "device_state", "user"] | None = None  # default: the field's family
    description: str = ""

    def validate(self, file: str, prefix: str) -> None:
        if (self.field is None) == (self.compat is None):
            raise ConfigError(
                file,
                prefix + "field",
                f"criterion '{self.name}': give either field/op/value or compat = {{model, target}}, not both or neither",
            )
        if self.compat is not None:
            if self.op is not None or self.value is not None:
                raise ConfigError(file, prefix + "op", f"criterion '{self.name}': a compat criterion takes no op/value")
            self.family = self.family or "compute"
            return
        if self.field not in FIELDS:
            raise ConfigError(
                file,
                prefix + "field",
                f"unknown field {self.field!r} in criterion '{self.name}'; expected one of {sorted(FIELDS)}",
            )
        kind = FIELDS[self.field].kind
        if self.op is None:
            raise ConfigError(file, prefix + "op", f"missing; expected one of {list(OPS)}")
        if self.op not in OPS:
            raise ConfigError(file, prefix + "op", f"unknown operator {self.op!r}; expected one of {list(OPS)}")
        if self.value is None:
            raise ConfigError(file, prefix + "value", f"missing value for criterion '{self.name}'")
        self.family = self.family or FIELDS[self.field].family
        if self.op in ("in", "not_in"):
            if not isinstance(self.value, list) or not self.value:
                raise ConfigError(file, prefix + "value", f"operator '{self.op}' needs a non-empty list, got {self.value!r}")
            self.value = [self._check_scalar(v, kind, file, prefix + "value") for v in self.value]
            return
        if self.op in ORDER_OPS and kind in ("bool", "category"):
            raise ConfigError(
                file,
                prefix + "op",
                f"operator {self.op!r} does not apply to {kind} field '{self.field}'; use ==, !=, in or not_in",
            )
        if kind == "version" and isinstance(self.value, dict):
            # A minimum per platform: {Android = "10", iOS = "15"}
            self.value = {str(k): self._check_scalar(v, kind, file, f"{prefix}value.{k}") for k, v in self.value.items()}
            return
        self.value = self._check_scalar(self.value, kind, file, prefix + "value")

    def _check_scalar(self, v: Any, kind: str, file: str, key: str) -> Any:
        ok = {
            "bool": isinstance(v, bool),
            "number": isinstance(v, (int, float)) and not isinstance(v, bool),
            "category": isinstance(v, str),
            "version": isinstance(v, str) and bool(version_tuple(v)),
            "date": isinstance(v, (dt.date, str)),
        }.get(kind, False)
        expected = {
            "bool": "true or false",
            "number": "a number",
            "category": "a string",
            "version": 'a version string such as "10" or "15.4" (or a table per platform)',
            "date": "a TOML date such as 2019-09-01",
        }[kind]
        if not ok:
            raise ConfigError(file, key, f"field '{self.field}' is a {kind}: expected {expected}, got {v!r}")
        if kind == "date":
            try:
                return v if isinstance(v, dt.date) else dt.date.fromisoformat(v)
            except ValueError:
                raise ConfigError(file, key, f"expected a date such as 2019-09-01, got {v!r}") from None
        return float(v) if kind == "number" else v

    def text(self) -> str:
        if self.compat is not None:
            return f"compatible with model {self.compat.model} under target {self.compat.target}"
        return f"{self.field} {self.op} {self.value}"


@dataclass
class Fairness:
    """Warn when a criterion keeps a sub-population's share below `min_ratio` x the overall share."""

    min_ratio: float = 0.8
    min_devices: int = 30  # smaller sub-populations are reported but never warned about (noise)
    dimensions: list[str] = field(default_factory=lambda: ["platform", "device_tier", "os_band"])

    def validate(self, file: str, prefix: str) -> None:
        if not 0 < self.min_ratio <= 1:
            raise ConfigError(file, prefix + "min_ratio", f"must be in (0, 1], got {self.min_ratio}")
        if self.min_devices < 1:
            raise ConfigError(file, prefix + "min_devices", f"must be at least 1, got {self.min_devices}")
        for i, d in enumerate(self.dimensions):
            if d not in DIMENSIONS:
                raise ConfigError(
                    file, f"{prefix}dimensions[{i}]", f"unknown dimension {d!r}; expected one of {list(DIMENSIONS)}"
                )


@dataclass
class RuleSet:
    criteria: list[Criterion]
    all_of: list[str] | None = None  # the criteria that must all hold (default: every criterion)
    # What a share counts: devices with at least one qualifying session in the whole log (Table 1),
    # or device-days with one that day (closer to "available on a given day" for long logs).
    unit: Literal["device", "device_day"] = "device"
    budgets: str | None = None  # budgets TOML for compat criteria, relative to the rules file
    fairness: Fairness = field(default_factory=Fairness)
    source: str = field(default="rules", init=False)

    def validate(self, file: str, prefix: str) -> None:
        self.source = file
        if not self.criteria:
            raise ConfigError(file, prefix + "criteria", "no criteria: add at least one [[criteria]] table")
        names = [c.name for c in self.criteria]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ConfigError(file, prefix + "criteria", f"criterion names must be unique; repeated: {dup}")
        for i, n in enumerate(self.all_of or []):
            if n not in names:
                raise ConfigError(file, f"{prefix}all_of[{i}]", f"unknown criterion {n!r}; the rules define {names}")

    @property
    def combined(self) -> list[Criterion]:
        wanted = self.all_of if self.all_of is not None else [c.name for c in self.criteria]
        return [c for c in self.criteria if c.name in wanted]

    def fields(self) -> set[str]:
        """Session-log fields the criteria need (a log without them is a user error)."""
        used = {c.field for c in self.criteria if c.field}
        if any(c.compat for c in self.criteria):
            used |= {"device_model", "platform", "os_version"}
        return used

    def optional_fields(self) -> set[str]:
        """Fields read when the log has them: fairness dimensions (device_tier is optional)."""
        return set(self.fairness.dimensions)

    def budgets_path(self) -> Path | None:
        if self.budgets is None:
            return None
        p = Path(self.budgets)
        return p if p.is_absolute() else Path(self.source).parent / p


def load_rules(path: str | Path) -> RuleSet:
    return from_dict(RuleSet, read_toml(path), path)


def rules_from_dict(data: dict, file: str = "rules") -> RuleSet:
    return from_dict(RuleSet, data, file)
