"""Atomic writes: whole files or none, unique temporary names, nothing left behind on failure."""

from __future__ import annotations

import json
import threading

import pytest

from flint_bench.core.errors import UserError
from flint_bench.core.fileio import read_json, write_atomic, write_json_atomic


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "doc.json"
    write_json_atomic(path, {"v": 1})

    def explode(f):
        f.write(b"{half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        write_atomic(path, explode)
    assert json.loads(path.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["doc.json"]


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
