"""Broken files of every kind a reader may meet: bytes that are not UTF-8, not the format, empty,
truncated. Shared by the bad-file tests of each command (tests/*/test_bad_files.py)."""

from __future__ import annotations

import random
from pathlib import Path

NOT_UTF8 = b"\xff\xfe\x00garbage \xc3\x28"


def garbage() -> bytes:
    return random.Random(12).randbytes(2048)


def write_bad(path: Path, kind: str, valid: Path | None = None) -> Path:
    """`path` written as a broken file of `kind`: not-utf8, garbage, empty, or truncated (the first
    half of the valid file `valid`)."""
    data = {"not-utf8": NOT_UTF8, "garbage": garbage(), "empty": b""}.get(kind)
    if kind == "truncated":
        assert valid is not None
        whole = valid.read_bytes()
        data = whole[: len(whole) // 2]
    assert data is not None, kind
    path.write_bytes(data)
    return path


def assert_exit_2_naming(result: tuple[int, str, str], path: Path) -> None:
    code, out, err = result
    assert code == 2, (code, out[-1000:], err[-1000:])
    assert path.name in err.replace("\n", ""), err
    assert "Traceback" not in out + err
