"""TOML files parsed into typed dataclasses; every error names the file and the dotted key.

Constraints are declared once, in the dataclass's annotations, and checked here in one place:

    examples: Annotated[int, Ge(1), Le(10_000_000)] = 5000
    share: Annotated[float, Gt(0)] = 1.0

Every float must be finite (TOML allows `nan` and `inf`; no config of this tool means them). A
dataclass may still define `validate(self, file, prefix)` for checks across fields; it reads, never
changes, the config.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
import types
import typing
from pathlib import Path
from typing import Annotated, Any, TypeVar

from annotated_types import Ge, Gt, Interval, Le, Len, Lt, MaxLen, MinLen

from .errors import ConfigError, UserError
from .fileio import read_text

__all__ = [
    "Annotated",
    "Fraction",
    "Ge",
    "Gt",
    "Interval",
    "Le",
    "Lt",
    "MaxLen",
    "MinLen",
    "NonNegativeFloat",
    "NonNegativeInt",
    "Percentile",
    "Port",
    "PositiveFloat",
    "PositiveInt",
    "check_constraints",
    "check_instance",
    "from_dict",
    "load",
    "read_toml",
]

T = TypeVar("T")

PositiveInt = Annotated[int, Ge(1)]
NonNegativeInt = Annotated[int, Ge(0)]
PositiveFloat = Annotated[float, Gt(0)]
NonNegativeFloat = Annotated[float, Ge(0)]
Fraction = Annotated[float, Interval(ge=0, le=1)]
Percentile = Annotated[float, Interval(ge=0, le=100)]
Port = Annotated[int, Interval(ge=1, le=65535)]


def read_toml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    text = read_text(path, "TOML file")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{path}: not valid TOML ({e}).") from None


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


_BOUNDS: dict[type, tuple[str, str, Any]] = {
    Gt: ("gt", ">", lambda v, b: v > b),
    Ge: ("ge", ">=", lambda v, b: v >= b),
    Lt: ("lt", "<", lambda v, b: v < b),
    Le: ("le", "<=", lambda v, b: v <= b),
}


def check_constraints(value: Any, markers: tuple[Any, ...]) -> str | None:
    """The first problem with `value` under annotated_types markers, or None when all hold."""
    for marker in markers:
        if isinstance(marker, Interval):  # a group of Gt/Ge/Lt/Le
            if problem := check_constraints(value, tuple(marker)):
                return problem
        elif type(marker) in _BOUNDS:
            attr, symbol, holds = _BOUNDS[type(marker)]
            bound = getattr(marker, attr)
            if not holds(value, bound):
                return f"must be {symbol} {bound if isinstance(bound, int) else format(bound, 'g')}, got {value!r}"
        elif isinstance(marker, (MinLen, MaxLen, Len)):
            lo, hi = getattr(marker, "min_length", 0) or 0, getattr(marker, "max_length", None)
            if len(value) < lo:
                return f"needs at least {lo} item(s), got {len(value)}"
            if hi is not None and len(value) > hi:
                return f"takes at most {hi} item(s), got {len(value)}"
    return None


def _coerce(value: Any, tp: Any, file: str, key: str) -> Any:
    """Check `value` against the annotation `tp`, converting TOML tables into nested dataclasses."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin is Annotated:
        base, *markers = typing.get_args(tp)
        value = _coerce(value, base, file, key)
        if value is not None and (problem := check_constraints(value, tuple(markers))):
            raise ConfigError(file, key, problem)
        return value
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, file, key)
            except ConfigError as e:
                errors.append(e)
        if len(errors) == 1:
            raise errors[0]  # `X | None`: keep the inner key, e.g. 'criteria[0].compat.target'
        raise ConfigError(file, key, f"expected one of {[_type_name(a) for a in args]}, got {value!r}")
    if origin is typing.Literal:
        allowed = typing.get_args(tp)
        if value not in allowed:
            raise ConfigError(file, key, f"must be one of {list(allowed)}, got {value!r}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):  # a tuple: a field of an instance (check_instance)
            raise ConfigError(file, key, f"expected a list, got {type(value).__name__} {value!r}")
        (item_tp, *_) = typing.get_args(tp) or (Any,)
        items = [_coerce(v, item_tp, file, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(file, key, f"expected a table, got {type(value).__name__}")
        _, val_tp = typing.get_args(tp) or (str, Any)
        return {k: _coerce(v, val_tp, file, f"{key}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if isinstance(value, tp):
            check_instance(value, file, prefix=f"{key}.")
            return value
        if not isinstance(value, dict):
            raise ConfigError(file, key, f"expected a table, got {type(value).__name__} {value!r}")
        return from_dict(tp, value, file, prefix=f"{key}.")
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if isinstance(tp, type):
        if isinstance(value, bool) and tp is not bool:
            raise ConfigError(file, key, f"expected {_type_name(tp)}, got a boolean")
        if not isinstance(value, tp):
            raise ConfigError(file, key, f"expected {_type_name(tp)}, got {type(value).__name__} {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(file, key, f"must be a finite number, got {value!r}")
    return value


def from_dict(cls: type[T], data: dict[str, Any], file: str | Path, prefix: str = "") -> T:
    """Build dataclass `cls` from a TOML table: unknown keys, missing keys, wrong types and broken
    constraints name the key. Then `cls.validate(file, prefix)`, if defined, checks across fields."""
    file = str(file)
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    hints = typing.get_type_hints(cls, include_extras=True)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for key in data:
        if key not in fields:
            raise ConfigError(file, prefix + key, f"unknown key; allowed keys are {sorted(fields)}")
    kwargs = {}
    for name, field in fields.items():
        if name in data:
            kwargs[name] = _coerce(data[name], hints[name], file, prefix + name)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(file, prefix + name, "missing required key")
    obj = cls(**kwargs)
    validate = getattr(obj, "validate", None)
    if callable(validate):
        validate(file, prefix)
    return obj


def load(cls: type[T], path: str | Path) -> T:
    return from_dict(cls, read_toml(path), path)


def check_instance(obj: Any, file: str | Path, prefix: str = "", keys: dict[str, str] | None = None) -> None:
    """Check a dataclass instance built in code (e.g. config values overridden by command-line flags
    through `dataclasses.replace`, which bypasses the loader) as `from_dict` checks a TOML table:
    every field against its declared constraints, then `validate`. `keys` renames a field in the
    message (e.g. 'examples' -> '--examples')."""
    file, keys = str(file), keys or {}
    hints = typing.get_type_hints(type(obj), include_extras=True)
    try:
        for field in dataclasses.fields(obj):
            if field.init:
                _coerce(getattr(obj, field.name), hints[field.name], file, prefix + field.name)
        validate = getattr(obj, "validate", None)
        if callable(validate):
            validate(file, prefix)
    except ConfigError as e:
        if e.key in keys:
            raise ConfigError(file, keys[e.key], e.problem) from None
        raise
