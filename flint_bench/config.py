"""TOML files parsed into dataclasses. Every error names the file and the dotted key (Flower-style)."""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

from .errors import ConfigError, UserError

T = TypeVar("T")


def read_toml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: file not found. Pass an existing TOML file.")
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{path}: not valid TOML ({e}).") from None


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value: Any, tp: Any, file: str, key: str) -> Any:
    """Check `value` against the annotation `tp`, converting TOML tables into nested dataclasses."""
    origin = typing.get_origin(tp)
    if tp is Any:
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
        if not isinstance(value, list):
            raise ConfigError(file, key, f"expected a list, got {type(value).__name__} {value!r}")
        (item_tp, *_) = typing.get_args(tp) or (Any,)
        items = [_coerce(v, item_tp, file, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(file, key, f"expected a table, got {type(value).__name__}")
        _, val_tp = typing.get_args(tp) or (str, Any)
        return {k: _coerce(v, val_tp, file, f"{key}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(file, key, f"expected a table, got {type(value).__name__} {value!r}")
        return from_dict(tp, value, file, prefix=f"{key}.")
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(tp, type):
        if isinstance(value, bool) and tp is not bool:
            raise ConfigError(file, key, f"expected {_type_name(tp)}, got a boolean")
        if not isinstance(value, tp):
            raise ConfigError(file, key, f"expected {_type_name(tp)}, got {type(value).__name__} {value!r}")
    return value


def from_dict(cls: type[T], data: dict[str, Any], file: str | Path, prefix: str = "") -> T:
    """Build dataclass `cls` from a TOML table: unknown keys, missing keys and wrong types name the key.

    A dataclass may define `validate(self, file, prefix)` for cross-field checks.
    """
    file = str(file)
    hints = typing.get_type_hints(cls)
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
