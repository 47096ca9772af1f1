"""Hostile and faulty phones against the real adb server: a phone that freezes mid-run, and device
properties that carry terminal escape sequences or kilobytes of text."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from test_adb_farm import cli, records

HOSTILE_MODEL = "Pixel\x1b[2J 7\x1b]0;owned\x07\r" + "X" * 10_000


@pytest.mark.timeout(150)  # before the fix the run blocked forever in the sync `stat` of the result file
def test_a_phone_that_freezes_mid_run_is_a_timeout_record_and_the_other_finishes(phones, farm_file, tmp_path):
    frozen, fine = phones[1], phones[0]
    frozen.drop_after_s = 0.5
    frozen.set_behaviour("freeze")  # stops answering 0.5 s after `am start`, its connection left open
    out_dir = tmp_path / "results"
    farm = farm_file(run={"timeout_s": 60}, io_timeout_s=2.0, serials=[fine.serial, frozen.serial])
    code, out = cli("run", "--farm", str(farm), "--model", "A", "--out", str(out_dir), "--format", "json")
    assert code == 1, out
    recs = records(out_dir)
    assert recs[fine.serial]["status"] == "ok", recs[fine.serial]["error"]
    hung = recs[frozen.serial]
    assert hung["status"] == "failed" and hung["error"]["kind"] == "timeout", hung["error"]
    assert "stopped answering" in hung["error"]["message"]
    # io_timeout_s (2 s) after the freeze, plus the bounded clean-up: far inside timeout_s (60 s)
    took = datetime.fromisoformat(hung["timestamps"]["finished"]) - datetime.fromisoformat(hung["timestamps"]["started"])
    assert took.total_seconds() < 30, took


def test_device_properties_are_terminal_safe_in_list_and_records(phones, farm_file, tmp_path):
    props_file = phones[0].root / "state/props.json"
    props = json.loads(props_file.read_text()) | {"ro.product.model": HOSTILE_MODEL, "ro.soc.model": "\x07\x1b[31mSoC"}
    props_file.write_text(json.dumps(props))
    farm = farm_file(serials=[phones[0].serial])
    code, out = cli("farm", "list", "--farm", str(farm), "--format", "json")
    assert code == 0, out
    (device,) = json.loads(out)["devices"]
    for value in (device["model"], device["soc"]):
        assert not any(c in value for c in "\x1b\x07\r\n")
    assert device["model"].startswith("Pixel 7") and device["model"].endswith("…") and len(device["model"]) == 200
    assert device["soc"] == "SoC"
    code, table = cli("farm", "list", "--farm", str(farm))
    assert code == 0 and "\x1b]0;" not in table and "\x1b[2J" not in table and len(table.splitlines()) < 40
    out_dir = tmp_path / "results"
    code, out = cli("run", "--farm", str(farm), "--model", "A", "--out", str(out_dir), "--format", "json")
    assert code == 0, out
    (record,) = records(out_dir).values()
    assert record["device"]["model"] == device["model"]


def test_an_empty_farm_list_keeps_its_title_on_one_line(phones, farm_file):
    code, out = cli("farm", "list", "--farm", str(farm_file(serials=["no-such-phone"])))
    assert code == 0 and "farm test-lab (adb): 0 device(s)" in out, out


def test_farm_list_starts_an_adb_server_where_none_runs_and_stops_it_after(tmp_path, adb_server):
    import socket

    from conftest import free_port

    port = free_port()  # nothing listens here: the farm starts its own server on it (adb -P), not on adbutils' default
    path = tmp_path / "empty.toml"
    path.write_text(f'kind = "adb"\nname = "empty-lab"\n[adb]\nserver_port = {port}\n')
    code, out = cli("farm", "list", "--farm", str(path))
    assert code == 0 and "farm empty-lab (adb): 0 device(s)" in out, out
    with socket.socket() as s, pytest.raises(OSError):  # the server it started is gone again
        s.settimeout(2)
        s.connect(("127.0.0.1", port))
    code, out = cli("farm", "doctor", "--farm", str(path), "--format", "json")
    server = {c["name"]: c for c in json.loads(out)["checks"]}["adb server"]
    assert server["ok"] and "started for this command" in server["message"]
    with socket.socket() as s, pytest.raises(OSError):
        s.settimeout(2)
        s.connect(("127.0.0.1", port))
