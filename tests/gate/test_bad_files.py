"""Issue 12 item 4: `gate` turns a broken result record or budgets file into exit 2 naming the
file, never a traceback."""

from __future__ import annotations

import json

import pytest
from properties.badfiles import NOT_UTF8, assert_exit_2_naming, write_bad
from properties.gen import valid_record


def _folder(path, record=None):
    path.mkdir()
    (path / "good.json").write_text(json.dumps(record or valid_record()))
    return path


@pytest.mark.parametrize("kind", ["not-utf8", "garbage", "empty", "truncated"])
@pytest.mark.parametrize("side", ["head", "base"])
def test_a_broken_record_is_exit_2_naming_it(tmp_path, cli, kind, side):
    head, base = _folder(tmp_path / "head"), _folder(tmp_path / "base")
    bad = write_bad((head if side == "head" else base) / "bad.json", kind, head / "good.json")
    assert_exit_2_naming(cli("gate", "--head", head, "--base", base), bad)


@pytest.mark.parametrize("text", [NOT_UTF8, b"[targets.t\n", b"[targets.t]\nmax_task_seconds = inf\n"])
def test_a_broken_budgets_file_is_exit_2_naming_it(tmp_path, cli, text):
    budgets = tmp_path / "budgets.toml"
    budgets.write_bytes(text)
    assert_exit_2_naming(cli("gate", "--head", _folder(tmp_path / "head"), "--budgets", budgets), budgets)
