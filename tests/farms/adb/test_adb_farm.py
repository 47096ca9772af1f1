"""The adb farm against the real adb server and three test phones speaking the adb device protocol."""

from __future__ import annotations

import json
from pathlib import Path

from fake_device import APP, make_apk
from typer.testing import CliRunner

from flint_bench.core.errors import UserError


def cli(*args: str) -> tuple[int, str]:
    """Run the CLI in-process; a UserError is exit 2 with its message on stderr, like `flint-bench` itself."""
    from flint_bench.cli import app

    result = CliRunner().invoke(app, list(args))
    if isinstance(result.exception, UserError):
        return 2, str(result.exception)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout if result.exit_code != 2 else result.stderr


def records(out: Path) -> dict[str, dict]:
    return {r["device"]["id"]: r for r in (json.loads(p.read_text()) for p in out.glob("*.json") if p.name != "run.json")}


def test_farm_list_reads_props_memory_and_cores(phones, farm_file):
    code, out = cli("farm", "list", "--farm", str(farm_file()), "--format", "json")
    assert code == 0, out
    devices = {d["id"]: d for d in json.loads(out)["devices"]}
    assert list(devices) == [p.serial for p in phones]  # the order of [adb].serials
    pixel, samsung, redmi = (devices[p.serial] for p in phones)
    assert (pixel["manufacturer"], pixel["model"], pixel["soc"], pixel["os"], pixel["os_version"], pixel["abi"]) == (
        "Google",
        "Pixel 7",
        "GS201",
        "Android",
        "14",
        "arm64-v8a",
    )
    assert pixel["cores"] == 8 and pixel["memory_mb"] == round(7_833_000 / 1024, 1) and pixel["emulator"] is False
    assert redmi["soc"] == "mt6762" and redmi["abi"] == "armeabi-v7a" and redmi["memory_mb"] == round(1_900_000 / 1024, 1)
    assert samsung["model"] == "SM-A515F"


def test_farm_list_attribute_filters(phones, farm_file):
    code, out = cli(
        "farm",
        "list",
        "--farm",
        str(farm_file(serials=[], min_os_version="13", manufacturers=["SAMSUNG", "google"])),
        "--format",
        "json",
    )
    assert code == 0
    assert sorted(d["model"] for d in json.loads(out)["devices"]) == ["Pixel 7", "SM-A515F"]
    code, out = cli("farm", "list", "--farm", str(farm_file(serials=[], max_sdk=29, abis=["armeabi-v7a"])), "--format", "json")
    assert [d["model"] for d in json.loads(out)["devices"]] == ["Redmi 9A"]
    code, out = cli("farm", "list", "--farm", str(farm_file(max_devices=2)), "--format", "json")
    assert len(json.loads(out)["devices"]) == 2
    code, out = cli("farm", "list", "--farm", str(farm_file(emulator=True)), "--format", "json")
    assert json.loads(out)["devices"] == []


def test_connect_adds_tcp_phones(phones, farm_file):
    from fake_device import adb

    adb("disconnect", phones[2].serial)
    code, out = cli(
        "farm", "list", "--farm", str(farm_file(serials=[phones[2].serial], connect=[phones[2].serial])), "--format", "json"
    )
    assert code == 0 and [d["model"] for d in json.loads(out)["devices"]] == ["Redmi 9A"]


def test_doctor_passes_then_names_the_missing_app(phones, farm_file):
    code, out = cli("farm", "doctor", "--farm", str(farm_file()), "--format", "json")
    doc = json.loads(out)
    assert code == 0 and doc["ok"], out
    names = [c["name"] for c in doc["checks"]]
    assert {"adb binary", "adb server", "devices", "apk"} <= set(names) and f"{phones[0].serial} storage" in names
    # no APK configured and the app not on the phones: the check fails and says how to fix it
    code, out = cli("farm", "doctor", "--farm", str(farm_file(apk=None, app_version=None)), "--format", "json")
    failed = [c for c in json.loads(out)["checks"] if not c["ok"]]
    assert code == 1 and len(failed) == 3
    assert "is not installed" in failed[0]["message"] and "install" in failed[0]["message"]


def test_doctor_without_server(tmp_path, adb_server):
    path = tmp_path / "nowhere.toml"
    # a remote server nothing answers for (TEST-NET-1): the farm never starts a server on another machine
    path.write_text('kind = "adb"\n[adb]\nserver_host = "192.0.2.1"\nserver_port = 5037\n')
    code, out = cli("farm", "doctor", "--farm", str(path))
    assert code == 1 and "cannot reach the adb server" in out


def test_bad_config_key_names_file_and_key(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('kind = "adb"\n[adb]\nmax_thermal_status = 9\n')
    code, out = cli("farm", "list", "--farm", str(path))
    assert code == 2 and "bad.toml" in out and "adb.max_thermal_status" in out
    path.write_text('kind = "adb"\n[adb]\napk = "x.apk"\n')
    code, out = cli("farm", "list", "--farm", str(path))
    assert code == 2 and "adb.app_version" in out


def test_run_model_a_on_three_phones_in_parallel(phones, farm_file, tmp_path):
    out_dir = tmp_path / "results"
    code, out = cli("run", "--farm", str(farm_file()), "--model", "A", "--out", str(out_dir), "--format", "json")
    assert code == 0, out
    recs = records(out_dir)
    assert set(recs) == {p.serial for p in phones}
    for phone in phones:
        r = recs[phone.serial]
        assert r["status"] == "ok", r["error"]
        assert r["device"]["model"] == phone.props["ro.product.model"] and r["model"]["name"] == "A"
        assert len(r["timing"]["step_seconds"]) == 1 and r["timing"]["seconds_per_5000"]["mean"] > 0
        assert r["cpu"]["samples"] >= 1 and r["cpu"]["method"].startswith("/proc/<pid>/stat")
        assert r["memory"]["method"].startswith("pss") and r["memory"]["peak_mb"] > 10
        assert r["memory"]["peak_delta_mb"] is None  # the reference worker's baseline is RSS: never subtracted from PSS
        assert r["conditions"]["battery_percent"] is not None and r["conditions"]["thermal_state"] in ("none (0)", "light (1)")
        # the app was installed with the farm's version, and the benchmark files were cleaned up
        assert (
            json.loads((phone.root / "state/packages.json").read_text())["org.flint.bench"]["versionName"] == APP["versionName"]
        )
        assert not list((phone.root / "sdcard/Android/data/org.flint.bench/files").iterdir())
        assert any(c.startswith("am start -n org.flint.bench/.BenchmarkActivity") for c in phone.shell_log)
    # the three benchmarks overlapped in time (devices in parallel)
    spans = sorted((r["timestamps"]["started"], r["timestamps"]["finished"]) for r in recs.values())
    assert spans[1][0] < spans[0][1] or spans[2][0] < spans[1][1]


def test_disconnect_mid_run_is_a_failure_record_and_others_are_kept(phones, farm_file, tmp_path):
    phones[1].set_behaviour("disconnect")  # drops off the network 1 s after `am start`
    out_dir = tmp_path / "results"
    farm = farm_file(serials=[p.serial for p in phones[:2]])  # two phones keep this test fast; the 3-phone run is above
    code, out = cli("run", "--farm", str(farm), "--model", "A", "--out", str(out_dir), "--format", "json")
    assert code == 1
    recs = records(out_dir)
    lost = recs[phones[1].serial]
    assert lost["status"] == "failed" and lost["error"]["kind"] == "disconnected" and phones[1].serial in lost["error"]["message"]
    assert recs[phones[0].serial]["status"] == "ok" and len(recs) == 2
    assert [f["device"] for f in json.loads(out)["failures"]] == [phones[1].serial]


def test_no_result_malformed_result_and_timeout(phones, farm_file, tmp_path):
    phones[0].set_behaviour("malformed")
    phones[1].set_behaviour("no-result")
    out_dir = tmp_path / "results"
    # two phones only: a real benchmark on the loaded test machine may need more than the 4 s timeout
    code, _ = cli(
        "run",
        "--farm",
        str(farm_file(result_timeout_s=4.0, serials=[p.serial for p in phones[:2]])),
        "--model",
        "A",
        "--out",
        str(out_dir),
        "--format",
        "json",
    )
    assert code == 1
    recs = records(out_dir)
    assert set(recs) == {phones[0].serial, phones[1].serial}
    assert (
        recs[phones[0].serial]["error"]["kind"] == "invalid-result"
        and "not a valid result" in recs[phones[0].serial]["error"]["message"]
    )
    assert recs[phones[1].serial]["error"]["kind"] == "timeout" and "within 4 s" in recs[phones[1].serial]["error"]["message"]
    # the app that never answered was stopped, and the phone's battery state given back
    assert phones[1].shell_log[-2].startswith("am force-stop org.flint.bench")
    assert phones[1].shell_log[-1] == "dumpsys battery reset"


def test_install_failure_and_missing_activity(phones, farm_file, tmp_path):
    bad = make_apk(tmp_path / "broken.apk", broken=True)
    code, _ = cli(
        "run",
        "--farm",
        str(farm_file(apk=str(bad), serials=[phones[0].serial])),
        "--model",
        "A",
        "--out",
        str(tmp_path / "r1"),
        "--format",
        "json",
    )
    r = records(tmp_path / "r1")[phones[0].serial]
    assert code == 1 and r["error"]["kind"] == "install" and "INSTALL_PARSE_FAILED_NOT_APK" in r["error"]["message"]
    code, _ = cli(
        "run",
        "--farm",
        str(farm_file(activity=".Missing", serials=[phones[0].serial])),
        "--model",
        "A",
        "--out",
        str(tmp_path / "r2"),
        "--format",
        "json",
    )
    r = records(tmp_path / "r2")[phones[0].serial]
    assert code == 1 and r["error"]["kind"] == "launch" and "does not exist" in r["error"]["message"]


def test_hostile_names_never_execute_on_the_device_shell(phones, farm_file, tmp_path):
    hostile = '/sdcard/flint dir/it\'s; $(touch PWNED1) `touch PWNED2` "q" | touch PWNED3 &'
    phone = phones[2]
    code, out = cli(
        "run",
        "--farm",
        str(farm_file(serials=[phone.serial], storage_dir=hostile, keep_files=True)),
        "--model",
        "A",
        "--out",
        str(tmp_path / "results"),
        "--format",
        "json",
    )
    assert not [p for p in phone.root.rglob("PWNED*")] and not list(Path.cwd().glob("PWNED*"))  # nothing ran
    assert code == 0, out
    assert records(tmp_path / "results")[phone.serial]["status"] == "ok"
    assert (phone.root / hostile.lstrip("/") / "spec.json").is_file()  # the folder exists with its literal name
    assert any(hostile.replace("'", "'\"'\"'") in c for c in phone.shell_log)  # it went to the shell quoted


def test_farm_commands_are_generic_over_kinds(tmp_path):
    repo = Path(__file__).resolve().parents[3]
    classes = tmp_path / "classes.toml"
    classes.write_text(
        'kind = "local"\n[[local.devices]]\nname = "high-end"\nthreads = 2\n[[local.devices]]\nname = "low-end"\nthreads = 1\n'
    )
    code, out = cli("farm", "list", "--farm", str(classes), "--format", "json")
    assert code == 0 and [d["id"] for d in json.loads(out)["devices"]] == ["high-end", "low-end"]
    code, out = cli("farm", "doctor", "--farm", str(repo / "farm_configs/local.toml"), "--format", "json")
    assert code == 0 and json.loads(out)["kind"] == "local" and json.loads(out)["ok"] is True
    bad = tmp_path / "bad-kind.toml"
    bad.write_text('kind = "carrier-pigeon"\n')
    code, out = cli("farm", "list", "--farm", str(bad))
    assert code == 2 and "bad-kind.toml" in out and "'kind'" in out
