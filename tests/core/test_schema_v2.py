"""Schema version 2: CPU as a share of the device beside % of one core, network per FL task (2 x M)
beside the one-time program download; version-1 records still read, their derivable fields filled."""

from __future__ import annotations

import json

import pytest
from records_synth import version_1, write_version_1
from toy_record import TOY_MANIFEST, measured_record

from flint_bench.core.contract import SCHEMA_VERSION, validate
from flint_bench.core.errors import UserError
from flint_bench.core.records import cpu_device_percent, task_network_bytes
from flint_bench.core.results import flatten, load_records, save_record


def test_a_new_record_is_version_2_with_the_papers_meanings(tmp_path):
    record = measured_record()
    record["device"]["cores"] = 8
    path = save_record(tmp_path, record)
    on_disk = json.loads(path.read_text())
    assert on_disk["schema_version"] == SCHEMA_VERSION == "2"
    # 90% of one core on an 8-core phone is 11.25% of the device
    assert on_disk["cpu"]["device_mean_percent"] == pytest.approx(90.0 / 8) and on_disk["cpu"]["cores"] == 8
    assert on_disk["cpu"]["device_max_percent"] == pytest.approx(100.0 / 8)
    # one FL task: the trainable float32 weights down (M = 40 bytes), the update up (M): 2 x M
    net = on_disk["network"]
    assert (net["task_download_bytes"], net["task_upload_bytes"], net["task_total_bytes"]) == (40, 40, 80)
    assert net["program_bytes"] == TOY_MANIFEST.bytes  # the program download, once, shown apart
    assert net["total_bytes"] == TOY_MANIFEST.bytes + 40  # the version-1 figure keeps its meaning


def test_version_1_records_read_with_what_can_be_derived(tmp_path):
    with_cores, without = measured_record("phone-8"), measured_record("phone-unknown")
    with_cores["device"]["cores"] = 4
    folder = write_version_1(tmp_path, [with_cores, without])
    raw = json.loads(next(tmp_path.glob("*phone-8*")).read_text())
    assert raw["schema_version"] == "1" and "device_mean_percent" not in raw["cpu"] and "task_total_bytes" not in raw["network"]
    validate("result", raw)  # a version-1 file is still valid

    by_id = {r["device"]["id"]: r for r in load_records(folder)}
    old = by_id["phone-8"]
    assert old["schema_version"] == "1" and old["extra"]["upgraded_from"] == "1"
    assert cpu_device_percent(old) == pytest.approx(22.5) and old["cpu"]["device_mean_percent"] == pytest.approx(22.5)
    assert task_network_bytes(old) == 80 and old["network"]["program_bytes"] == TOY_MANIFEST.bytes
    # no core count recorded: the device share cannot be derived and stays null (not a guess)
    unknown = by_id["phone-unknown"]
    assert unknown["cpu"]["cores"] is None and cpu_device_percent(unknown) is None
    row = flatten(unknown)
    assert row["cpu_device_percent"] is None and row["cpu_mean_percent"] == 90.0 and row["task_network_bytes"] == 80


def test_a_derived_share_follows_its_source():
    """The share is recomputed from the per-core figure, never left stale by an edit."""
    record = measured_record()
    record["device"]["cores"] = 2
    record["cpu"]["mean_percent"] = 150.0
    assert cpu_device_percent(record) == 75.0


def test_an_unknown_version_is_a_user_error(tmp_path):
    future = version_1(measured_record())
    future["schema_version"] = "3"
    (tmp_path / "r.json").write_text(json.dumps(future))
    with pytest.raises(UserError, match=r"reads versions '1', '2'"):
        load_records(tmp_path)
