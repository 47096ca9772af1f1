"""Issue 12 item 4: `profiles show` and `compat` turn a broken profiles or budgets file into exit 2
naming the file, never a traceback."""

from __future__ import annotations

import pytest
from properties.badfiles import NOT_UTF8, assert_exit_2_naming, write_bad
from properties.gen import valid_record

from flint_bench.profiles import build_profiles, write_profiles


@pytest.fixture
def profiles(tmp_path):
    return write_profiles(build_profiles([valid_record()]), tmp_path / "good.parquet")


@pytest.mark.parametrize("kind", ["not-utf8", "garbage", "empty", "truncated"])
@pytest.mark.parametrize("command", ["show", "compat"])
def test_a_broken_profiles_file_is_exit_2_naming_it(tmp_path, cli, profiles, kind, command):
    bad = write_bad(tmp_path / "profiles.parquet", kind, profiles)
    args = ["profiles", "show", bad] if command == "show" else ["compat", "--profiles", bad, "--budgets", "configs/budgets.toml"]
    assert_exit_2_naming(cli(*args), bad)


@pytest.mark.parametrize("text", [NOT_UTF8, b"[targets.t\nmax_memory_mb = 1\n", b"[targets.t]\nmax_memory_mb = nan\n"])
def test_a_broken_budgets_file_is_exit_2_naming_it(tmp_path, cli, profiles, text):
    budgets = tmp_path / "budgets.toml"
    budgets.write_bytes(text)
    assert_exit_2_naming(cli("compat", "--profiles", profiles, "--budgets", budgets), budgets)
