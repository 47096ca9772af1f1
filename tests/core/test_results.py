"""The results store: readers name the bad file, concurrent table writers never collide."""

from __future__ import annotations

import json
import threading

import pandas as pd
import pytest

from flint_bench.core.errors import UserError
from flint_bench.core.results import TABLE, load_records, save_record, write_table


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b'{"schema_version": "1", "run_id": "\xff"}', "not UTF-8"),
        (b'{"schema_version": "1", "run_id": "r', "not valid JSON"),
        (b'{"schema_version": "1", "timing": {"load_seconds": NaN}}', "'NaN' is not a JSON number"),
    ],
)
def test_a_bad_record_file_is_a_user_error_naming_it(tmp_path, toy, content, needle):
    save_record(tmp_path, toy.record("good"))
    (tmp_path / "toy__bad.json").write_bytes(content)
    with pytest.raises(UserError, match=needle) as e:
        load_records(tmp_path)
    assert str(tmp_path / "toy__bad.json") in str(e.value)


def test_concurrent_table_writers_never_fail_a_rename(tmp_path, toy):
    records = [toy.record(f"d{i}") for i in range(3)]
    errors: list[Exception] = []

    def writer() -> None:
        try:
            for _ in range(10):
                write_table(tmp_path, records)
        except Exception as e:  # reported by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=writer) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(pd.read_parquet(tmp_path / TABLE)["device_id"]) == ["d0", "d1", "d2"]
    assert [p.name for p in tmp_path.iterdir()] == [TABLE]


def test_a_saved_record_is_strict_json(tmp_path, toy):
    path = save_record(tmp_path, toy.record())
    assert json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(c))["status"] == "ok"


def test_a_record_with_an_integer_beyond_64_bits_is_a_user_error_naming_it(tmp_path, toy):
    record = toy.record()
    record["model"]["storage_bytes"] = 10**400  # valid JSON; no table or float holds it
    (tmp_path / "toy__phone.json").write_text(json.dumps(record))
    with pytest.raises(UserError, match=r"toy__phone.json: .*out of range at 'model/storage_bytes'"):
        load_records(tmp_path)
