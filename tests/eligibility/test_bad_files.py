"""Issue 12 item 4: `eligibility` turns a session log (CSV or Parquet) or a rules file that is not
UTF-8 or not the format into exit 2 naming the file, never a traceback."""

from __future__ import annotations

import pytest
from properties.badfiles import NOT_UTF8, assert_exit_2_naming, write_bad


@pytest.mark.parametrize(
    "fmt, kind",
    [("csv", k) for k in ("not-utf8", "garbage", "empty", "bad-row")]  # a truncated CSV is a shorter CSV
    + [("parquet", k) for k in ("not-utf8", "garbage", "empty", "truncated", "bad-row")],
)
def test_a_broken_session_log_is_exit_2_naming_it(table1_log, tmp_path, cli, kind, fmt):
    bad = tmp_path / f"sessions.{fmt}"
    if kind == "bad-row":  # a valid header, then bytes that are not UTF-8 (or not Parquet) further on
        good = table1_log[fmt].read_bytes()
        bad.write_bytes(good[: len(good) // 2] + NOT_UTF8 + good[len(good) // 2 :])
    else:
        write_bad(bad, kind, table1_log[fmt])
    assert_exit_2_naming(cli("eligibility", "--sessions", bad, "--rules", table1_log["rules"]), bad)


@pytest.mark.parametrize("text", [NOT_UTF8, b"[[criteria]\n", b"\xef\xbb\xbf[[criteria]]\nname = 1\n"])
def test_a_broken_rules_file_is_exit_2_naming_it(table1_log, tmp_path, cli, text):
    rules = tmp_path / "rules.toml"
    rules.write_bytes(text)
    assert_exit_2_naming(cli("eligibility", "--sessions", table1_log["csv"], "--rules", rules), rules)
