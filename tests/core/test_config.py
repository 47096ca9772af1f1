"""Declarative config constraints: declared once in the annotations, checked by the loader."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Annotated

import pytest

from flint_bench.core.config import Fraction, Ge, Le, PositiveInt, check_instance, from_dict, read_toml
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
        ({"examples": 2**63 - 1}, "examples", "must be <= 1000000, got"),
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


@dataclass
class Crossed:
    low: PositiveInt = 1
    high: PositiveInt = 2

    def validate(self, file: str, prefix: str) -> None:
        if self.high < self.low:
            raise ConfigError(file, prefix + "high", f"must be >= low ({self.low})")


def test_an_overridden_instance_is_checked_like_the_file_naming_the_flag():
    settings = replace(Settings(), examples=2_000_000_000)  # replace() bypasses the loader
    with pytest.raises(ConfigError) as e:
        check_instance(settings, "command line", keys={"examples": "--examples"})
    assert str(e.value) == "command line: key '--examples': must be <= 1000000, got 2000000000"


@pytest.mark.parametrize(
    ("settings", "key", "needle"),
    [
        (Settings(timeout_s=float("nan")), "run.timeout_s", "finite"),
        (Settings(inner=Inner(share=2.0)), "run.inner.share", "<= 1"),
        (Settings(items=[Inner(), Inner(share=-1.0)]), "run.items[1].share", ">= 0"),
        (Crossed(low=5, high=3), "run.high", ">= low"),
    ],
)
def test_check_instance_covers_nesting_finiteness_and_validate(settings, key, needle):
    with pytest.raises(ConfigError) as e:
        check_instance(settings, "farm.toml", prefix="run.")
    assert e.value.key == key and needle in str(e.value)


def test_a_valid_instance_passes_unchanged():
    settings = Settings(examples=9, items=[Inner()])
    check_instance(settings, "farm.toml")
    assert settings == Settings(examples=9, items=[Inner()])
