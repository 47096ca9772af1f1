"""Declarative config constraints: declared once in the annotations, checked by the loader."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import pytest

from flint_bench.core.config import Fraction, Ge, Le, PositiveInt, from_dict, read_toml
from flint_bench.core.errors import ConfigError, UserError


@dataclass
class Inner:
    share: Fraction = 0.5


@dataclass
class Settings:
    examples: Annotated[int, Ge(1), Le(1_000_000)] = 5000
    repeats: PositiveInt = 3
    timeout_s: float = 10.0
    limit: Annotated[float, Ge(0)] | None = None
    inner: Inner = field(default_factory=Inner)
    items: list[Inner] = field(default_factory=list)


@pytest.mark.parametrize(
    ("data", "key", "needle"),
    [
        ({"examples": 0}, "examples", "must be >= 1, got 0"),
        ({"examples": 2**63 - 1}, "examples", "must be <= 1e+06"),
        ({"repeats": -1}, "repeats", ">= 1"),
        ({"timeout_s": float("nan")}, "timeout_s", "finite"),
        ({"timeout_s": float("inf")}, "timeout_s", "finite"),
        ({"limit": -0.5}, "limit", ">= 0"),
        ({"inner": {"share": 1.5}}, "inner.share", "<= 1"),
        ({"items": [{"share": 0.1}, {"share": -1}]}, "items[1].share", ">= 0"),
        ({"examples": True}, "examples", "boolean"),
        ({"typo": 1}, "typo", "unknown key"),
    ],
)
def test_a_broken_constraint_names_the_file_and_key(data, key, needle):
    with pytest.raises(ConfigError) as e:
        from_dict(Settings, data, "farm.toml")
    assert e.value.file == "farm.toml" and e.value.key == key, str(e.value)
    assert needle in str(e.value)


def test_valid_values_and_defaults_load_unchanged():
    s = from_dict(Settings, {"examples": 7, "limit": None, "inner": {"share": 1}, "items": [{}]}, "x.toml")
    assert s == Settings(examples=7, inner=Inner(share=1.0), items=[Inner()])
    assert from_dict(Settings, {}, "x.toml") == Settings()


def test_toml_that_is_not_utf8_is_a_user_error(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_bytes(b"name = '\xff\xfe'\n")
    with pytest.raises(UserError, match=r"bad.toml: not UTF-8"):
        read_toml(path)
