"""Atomic writes: whole files or none, unique temporary names, nothing left behind on failure."""

from __future__ import annotations

import errno
import json
import os
import threading

import pytest

from flint_bench.core.errors import UserError
from flint_bench.core.fileio import read_json, write_atomic, write_json_atomic


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "doc.json"
    write_json_atomic(path, {"v": 1})

    def explode(f):
        f.write(b"{half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(UserError, match=rf"cannot write {path}: No space left on device"):
        write_atomic(path, explode)
    assert json.loads(path.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["doc.json"]


def test_a_folder_that_cannot_be_written_is_a_user_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(UserError, match=r"cannot write .*file/sub/doc.json: Not a directory"):
        write_json_atomic(blocker / "sub" / "doc.json", {})


def test_json_writers_refuse_nan_and_leave_nothing(tmp_path):
    with pytest.raises(ValueError, match="Out of range float"):
        write_json_atomic(tmp_path / "doc.json", {"peak_mb": float("nan")})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_json_with_nan_literals_is_a_user_error_naming_the_file(tmp_path, literal):
    (tmp_path / "r.json").write_text(f'{{"load_seconds": {literal}}}')
    with pytest.raises(UserError, match=rf"r.json: not valid JSON \('{literal}'"):
        read_json(tmp_path / "r.json")


def test_concurrent_writers_never_share_a_temp_name(tmp_path):
    path, errors = tmp_path / "table.json", []

    def writer(i: int) -> None:
        try:
            for j in range(50):
                write_json_atomic(path, {"writer": i, "j": j})
        except Exception as e:  # pragma: no cover - the assertion below reports it
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert set(json.loads(path.read_text())) == {"writer", "j"}
    assert [p.name for p in tmp_path.iterdir()] == ["table.json"]


def test_bad_user_json_names_the_file(tmp_path):
    (tmp_path / "a.json").write_bytes(b"\xff")
    (tmp_path / "b.json").write_text("{nope")
    with pytest.raises(UserError, match=r"a.json: not UTF-8"):
        read_json(tmp_path / "a.json")
    with pytest.raises(UserError, match=r"b.json: not valid JSON"):
        read_json(tmp_path / "b.json")
    with pytest.raises(UserError, match=r"c.json: JSON file not found"):
        read_json(tmp_path / "c.json")
