"""Eligibility rules in TOML: named criteria in three families (compute capability, device state,
user attributes), the set that must all hold, and the fairness check's settings.

Ranges and allowed words are declared in the annotations and checked by the config loader; the
`validate` methods only check what depends on several keys (an operator against its field's kind,
a value against its field's type), and never change the config: the value in its field's type is
the property `Criterion.operand`."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, get_args

from ..core.config import Annotated, Gt, Le, MinLen, PositiveInt, from_dict, read_toml
from ..core.errors import ConfigError
from ..core.versions import version_tuple
from ..coverage import ATTRIBUTE_COLUMNS
from .schema import FIELDS, Family

Op = Literal["==", "!=", "<", "<=", ">", ">=", "in", "not_in"]
Dimension = Literal["platform", "device_tier", "os_band", "device_model", "os_version"]
OPS: tuple[str, ...] = get_args(Op)
ORDER_OPS = ("<", "<=", ">", ">=")

_EXPECTED = {
    "bool": "true or false",
    "number": "a number",
    "category": "a string",
    "version": 'a version string such as "10" or "15.4" (or a table per platform)',
    "date": "a TOML date such as 2019-09-01",
}


@dataclass
class CompatRef:
    """Compute capability from benchmarks: the device model's profile must meet `target`'s budgets
    for ML model `model`, and the session's OS version the target's minimum."""

    model: str
    target: str
    unprofiled: Literal["exclude", "include"] = "exclude"  # device models without a profile


def _finite(v: int | float) -> bool:
    try:
        return math.isfinite(v)
    except OverflowError:  # an int beyond float range
        return False


def _scalar_problem(v: Any, kind: str) -> str | None:
    """Why `v` is not a value of a field of `kind`, or None."""
    ok = {
        "bool": isinstance(v, bool),
        "number": isinstance(v, (int, float)) and not isinstance(v, bool),
        "category": isinstance(v, str),
        "version": isinstance(v, str) and bool(version_tuple(v)),
        "date": isinstance(v, (dt.date, str)),
    }.get(kind, False)
    if not ok:
        return f"is a {kind}: expected {_EXPECTED[kind]}, got {v!r}"
    if kind == "number" and not _finite(v):  # NaN compares false with every session: never silently
        return f"is a number: expected a finite number, got {v!r}"
    if kind == "date" and isinstance(v, str):
        try:
            dt.date.fromisoformat(v)
        except ValueError:
            return f"expected a date such as 2019-09-01, got {v!r}"
    return None


def _typed(v: Any, kind: str) -> Any:
    if kind == "number":
        return float(v)
    if kind == "date" and isinstance(v, str):
        return dt.date.fromisoformat(v)
    return v


@dataclass
class Criterion:
    name: str
    field: str | None = None
    op: str | None = None  # one of OPS; checked in validate, whose message names the operator
    value: Any = None
    compat: CompatRef | None = None
    family: Family | None = None  # default: the field's family (compute for a compat criterion)
    description: str = ""

    @property
    def kind(self) -> str:
        return FIELDS[self.field].kind if self.field in FIELDS else ""

    @property
    def effective_family(self) -> Family | None:
        if self.family is not None:
            return self.family
        if self.compat is not None:
            return "compute"
        column = FIELDS.get(self.field or "")
        return column.family if column is not None else None

    @cached_property
    def operand(self) -> Any:
        """`value` in the field's type: numbers as float, dates as datetime.date, lists item by item,
        a per-platform table of versions as a dict."""
        if isinstance(self.value, list):
            return [_typed(v, self.kind) for v in self.value]
        if isinstance(self.value, dict):
            return {str(k): _typed(v, self.kind) for k, v in self.value.items()}
        return _typed(self.value, self.kind)

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
            return
        if self.field not in FIELDS:
            raise ConfigError(
                file,
                prefix + "field",
                f"unknown field {self.field!r} in criterion '{self.name}'; expected one of {sorted(FIELDS)}",
            )
        if self.op is None:
            raise ConfigError(file, prefix + "op", f"missing; expected one of {list(OPS)}")
        if self.op not in OPS:
            raise ConfigError(file, prefix + "op", f"unknown operator {self.op!r}; expected one of {list(OPS)}")
        if self.value is None:
            raise ConfigError(file, prefix + "value", f"missing value for criterion '{self.name}'")
        self._check_value(file, prefix)

    def _check_value(self, file: str, prefix: str) -> None:
        kind = self.kind
        if self.op in ("in", "not_in"):
            if not isinstance(self.value, list) or not self.value:
                raise ConfigError(file, prefix + "value", f"operator '{self.op}' needs a non-empty list, got {self.value!r}")
            items = [(f"{prefix}value[{i}]", v) for i, v in enumerate(self.value)]
        elif self.op in ORDER_OPS and kind in ("bool", "category"):
            raise ConfigError(
                file,
                prefix + "op",
                f"operator {self.op!r} does not apply to {kind} field '{self.field}'; use ==, !=, in or not_in",
            )
        elif kind == "version" and isinstance(self.value, dict):  # a minimum per platform: {Android = "10", iOS = "15"}
            items = [(f"{prefix}value.{k}", v) for k, v in self.value.items()]
        else:
            items = [(prefix + "value", self.value)]
        for key, v in items:
            if problem := _scalar_problem(v, kind):
                message = problem if problem.startswith("expected a date") else f"field '{self.field}' {problem}"
                raise ConfigError(file, key, message)

    def text(self) -> str:
        if self.compat is not None:
            return f"compatible with model {self.compat.model} under target {self.compat.target}"
        return f"{self.field} {self.op} {self.operand}"


@dataclass
class Fairness:
    """Warn when a criterion keeps a sub-population's share below `min_ratio` x the overall share."""

    min_ratio: Annotated[float, Gt(0), Le(1)] = 0.8
    min_devices: PositiveInt = 30  # smaller sub-populations are reported but never warned about (noise)
    dimensions: list[Dimension] = field(default_factory=lambda: ["platform", "device_tier", "os_band"])


@dataclass
class RuleSet:
    criteria: Annotated[list[Criterion], MinLen(1)]
    all_of: list[str] | None = None  # the criteria that must all hold (default: every criterion)
    # What a share counts: devices with at least one qualifying session in the whole log (Table 1),
    # or device-days with one that day (closer to "available on a given day" for long logs).
    unit: Literal["device", "device_day"] = "device"
    budgets: str | None = None  # budgets TOML for compat criteria, relative to the rules file
    fairness: Fairness = field(default_factory=Fairness)
    source: str = field(default="rules", init=False)  # the rules file, set by the loaders

    def validate(self, file: str, prefix: str) -> None:
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
        """Fields read when the log has them: fairness dimensions (device_tier is optional), and the
        device attributes a compat criterion's device mapping matches on."""
        mapping = set(ATTRIBUTE_COLUMNS) if any(c.compat for c in self.criteria) else set()
        return set(self.fairness.dimensions) | mapping

    def budgets_path(self) -> Path | None:
        if self.budgets is None:
            return None
        p = Path(self.budgets)
        return p if p.is_absolute() else Path(self.source).parent / p


def rules_from_dict(data: dict[str, Any], file: str | Path = "rules") -> RuleSet:
    rules = from_dict(RuleSet, data, file)
    rules.source = str(file)
    return rules


def load_rules(path: str | Path) -> RuleSet:
    return rules_from_dict(read_toml(path), path)
