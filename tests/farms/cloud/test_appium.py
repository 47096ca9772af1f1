"""The Appium farm against a real Appium 3 server (flint test driver) and a loopback provider REST API."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path

import pytest

from flint_bench.core.config import from_dict
from flint_bench.core.contract import validate
from flint_bench.core.errors import ConfigError, UserError
from flint_bench.farms import FarmFile, load_farm_file, open_farm
from flint_bench.farms.appium import AppiumDevice, AppiumSettings, Selection
from flint_bench.farms.appium.selection import select_devices
from flint_bench.farms.base import RunSettings
from flint_bench.farms.sections import combine_memory
from flint_bench.runner import run_benchmarks

from .conftest import SECRET_KEY, SECRET_USER

REPO = Path(__file__).resolve().parents[3]
FAST = RunSettings(examples=64, repeats=2, warmup_steps=1, timeout_s=60)


def make_farm(name: str = "hub", **table):
    settings = from_dict(
        AppiumSettings, {"automation_name": "FlintTest", "poll_interval_s": 0.2, **table}, "test.toml", prefix="appium."
    )
    return open_farm(FarmFile(kind="appium", name=name, settings=settings))


def by_device(outcome) -> dict[str, dict]:
    return {r["device"]["id"]: r for r in outcome.records}


def test_generic_hub_runs_two_android_phones_in_parallel(appium_server, app_file, model_a, tmp_path):
    farm = make_farm(
        provider="generic",
        app=str(app_file),
        hub_url=appium_server.url,
        devices=[
            {
                "name": "Pixel 7",
                "platform_version": "14",
                "manufacturer": "Google",
                "cores": 8,
                "capabilities": {"appium:flintBattery": 0.87},
            },
            {"name": "Galaxy S21", "platform_version": "13"},
        ],
    )
    out = run_benchmarks(farm, model_a, FAST, tmp_path / "out")
    records = by_device(out)
    assert set(records) == {"Pixel 7 14", "Galaxy S21 13"}
    for r in records.values():
        validate("result", r)
        assert r["status"] == "ok", r["error"]
        assert len(r["timing"]["step_seconds"]) == 2 and all(t > 0 for rep in r["timing"]["step_seconds"] for t in rep)
        assert r["timing"]["seconds_per_5000"]["mean"] > 0
        assert r["extra"]["appium"]["session_id"]
    assert records["Pixel 7 14"]["device"]["manufacturer"] == "Google" and records["Pixel 7 14"]["device"]["cores"] == 8
    # conditions from `mobile: batteryInfo` where the phone reports them, null where it does not
    assert (records["Pixel 7 14"]["conditions"]["battery_percent"], records["Pixel 7 14"]["conditions"]["charging"]) == (
        87.0,
        True,
    )
    assert records["Galaxy S21 13"]["conditions"]["battery_percent"] is None
    # the app process sampled through `mobile: getPerformanceData` while it trained
    for r in records.values():
        assert r["cpu"]["samples"] >= 1 and r["cpu"]["max_percent"] > 0 and "getPerformanceData" in r["cpu"]["method"]
        assert r["memory"]["peak_mb"] > 10 and r["memory"]["method"].startswith("pss")
    # the files went where the Android app reads them, and every session was closed
    files = appium_server.device_root / "Pixel_7" / "sdcard/Android/data/org.flint.bench/files"
    assert {p.name for p in files.iterdir()} >= {"spec.json", "model.pte", "data.npz", "result.json"}
    assert json.loads((files / "spec.json").read_text())["model"]["artifact"] == "model.pte"
    assert appium_server.sessions() == []


def test_ios_reads_the_result_element_from_the_documents_folder(appium_server, app_file, model_a, tmp_path):
    farm = make_farm(
        provider="generic",
        platform="ios",
        app=str(app_file),
        app_id="org.flintbench.ios",
        hub_url=appium_server.url,
        result_source="element",
        devices=[{"name": "iPhone 15", "platform_version": "17.4"}],
    )
    [record] = run_benchmarks(farm, model_a, FAST, tmp_path / "out").records
    assert record["status"] == "ok", record["error"]
    assert record["device"]["os"] == "iOS" and record["device"]["manufacturer"] == "Apple"
    # what an iPhone does not expose is null with the reason
    assert record["machine"]["load_1min_start"] is None and "iPhone exposes no load average" in record["machine"]["method"]
    assert record["energy"]["joules"] is None and "iOS exposes no per-app energy" in record["energy"]["method"]
    docs = appium_server.device_root / "iPhone_15" / "containers/org.flintbench.ios/Documents"
    assert (docs / "spec.json").is_file() and (docs / "result.json").is_file()


def test_faults_become_failure_records_and_spare_the_other_phones(appium_server, app_file, model_a, tmp_path):
    faults = ["refuse", "malformed", "lost"]  # a result that never appears: the next test
    # the good phone's name is hostile: names are data in capabilities JSON, never shell text
    hostile = f'Good "phone"; $(touch {tmp_path}/pwned)'
    devices = [{"name": f"Phone {f}", "capabilities": {"appium:flintFault": f}} for f in faults] + [{"name": hostile}]
    farm = make_farm(provider="generic", app=str(app_file), hub_url=appium_server.url, devices=devices)
    out = run_benchmarks(
        farm, model_a, RunSettings(examples=64, repeats=1, warmup_steps=1, timeout_s=60, max_parallel_devices=4), tmp_path / "out"
    )
    records = by_device(out)
    assert records[hostile]["status"] == "ok" and not (tmp_path / "pwned").exists()
    # a hub without `mobile: shell` (Appium's default): the phone's load is null, and the record says why
    machine = records[hostile]["machine"]
    assert machine["load_1min_start"] is None and "the hub runs no shell command" in machine["method"], machine
    validate("result", records[hostile])
    kinds = {f: records[f"Phone {f}"]["error"]["kind"] for f in faults}
    assert kinds == {"refuse": "session-refused", "malformed": "invalid-result", "lost": "disconnected"}
    assert "refused the session" in records["Phone refuse"]["error"]["message"]
    assert appium_server.sessions() == []


def test_missing_app_is_an_install_failure(appium_server, model_a, tmp_path):
    farm = make_farm(
        provider="generic", app=str(tmp_path / "not built.apk"), hub_url=appium_server.url, devices=[{"name": "Pixel 6"}]
    )
    [record] = run_benchmarks(farm, model_a, FAST, tmp_path / "out").records
    assert record["error"]["kind"] == "session-refused" and "cannot install the app" in record["error"]["message"]


def test_a_result_left_by_an_earlier_run_is_not_taken(appium_server, app_file, model_a, local_worker_result, tmp_path):
    # the phone still holds a valid result.json of an earlier run; its app now never writes a new one
    files = appium_server.device_root / "Reused_phone" / "sdcard/Android/data/org.flint.bench/files"
    files.mkdir(parents=True, exist_ok=True)
    (files / "result.json").write_text(json.dumps(local_worker_result))
    silent = make_farm(
        provider="generic",
        app=str(app_file),
        hub_url=appium_server.url,
        devices=[{"name": "Reused phone", "capabilities": {"appium:flintFault": "no-result"}}],
    )
    [record] = run_benchmarks(
        silent, model_a, RunSettings(examples=64, repeats=1, warmup_steps=1, timeout_s=2), tmp_path / "two"
    ).records
    assert record["error"]["kind"] == "timeout" and "result.json" in record["error"]["message"]


def test_browserstack_uploads_once_lists_devices_and_never_leaks_credentials(
    appium_server, provider, app_file, model_a, tmp_path, monkeypatch, caplog, capsys
):
    monkeypatch.setenv("BROWSERSTACK_USERNAME", SECRET_USER)
    monkeypatch.setenv("BROWSERSTACK_ACCESS_KEY", SECRET_KEY)
    provider.browserstack_devices = [
        {"os": "android", "os_version": "14.0", "device": "Google Pixel 8", "realMobile": True},
        {"os": "android", "os_version": "12.0", "device": "Samsung Galaxy S22", "realMobile": True},
        {"os": "android", "os_version": "9.0", "device": "Samsung Galaxy S9", "realMobile": True},
        {"os": "ios", "os_version": "17", "device": "iPhone 15", "realMobile": True},
    ]
    farm = make_farm(
        "browserstack",
        provider="browserstack",
        app=str(app_file),
        hub_url=appium_server.url,
        api_url=provider.url,
        select={"os_version_min": "10"},
    )
    assert [d.id for d in farm.devices()] == ["Google Pixel 8 14.0", "Samsung Galaxy S22 12.0"]
    caplog.set_level(logging.DEBUG)
    out = run_benchmarks(farm, model_a, FAST, tmp_path / "out")
    assert [r["status"] for r in out.records] == ["ok", "ok"], [r["error"] for r in out.records]
    uploads = [r for r in provider.requests if r["method"] == "POST"]
    assert len(uploads) == 1 and list(provider.uploads) == [app_file.name]
    assert provider.uploads[app_file.name] == app_file.read_bytes()
    log = appium_server.log.read_text()
    assert '"bstack:options"' in log and '"app":"bs://' in log.replace(" ", "")
    texts = {
        "log records": caplog.text,
        "stdout/stderr": "".join(capsys.readouterr()),
        "result JSON": "".join(p.read_text() for p in (tmp_path / "out").glob("*.json")),
        "Appium server log": log,
    }
    for where, text in texts.items():
        assert SECRET_KEY not in text, f"the access key leaked into {where}"
        assert SECRET_USER not in text, f"the username leaked into {where}"


def test_saucelabs_storage_upload_and_device_attributes(appium_server, provider, app_file, model_a, tmp_path, monkeypatch):
    monkeypatch.setenv("SAUCE_USERNAME", SECRET_USER)
    monkeypatch.setenv("SAUCE_ACCESS_KEY", SECRET_KEY)
    provider.sauce_devices = [
        {
            "id": "Google_Pixel_7_real",
            "name": "Google Pixel 7",
            "os": "ANDROID",
            "osVersion": "13",
            "manufacturer": ["Google"],
            "modelNumber": "GVU6C",
            "cpuCores": 8,
            "ramSize": 8192,
            "cpuType": "ARM",
            "abiType": "arm64-v8a",
        },
        {"id": "iPhone_14_real", "name": "iPhone 14", "os": "IOS", "osVersion": "16.4", "manufacturer": ["Apple"]},
    ]
    farm = make_farm("sauce", provider="saucelabs", app=str(app_file), hub_url=appium_server.url, api_url=provider.url)
    [record] = run_benchmarks(farm, model_a, FAST, tmp_path / "out").records
    assert record["status"] == "ok", record["error"]
    d = record["device"]
    assert (d["manufacturer"], d["model"], d["cores"], d["memory_mb"], d["abi"]) == ("Google", "GVU6C", 8, 8192.0, "arm64-v8a")
    log = appium_server.log.read_text()
    assert '"sauce:options"' in log and "storage:" in log and "Google_Pixel_7_real" in log


def test_bad_credentials_are_a_clear_failure_without_the_secret(
    appium_server, provider, app_file, model_a, tmp_path, monkeypatch
):
    monkeypatch.setenv("BS_USER", SECRET_USER)
    monkeypatch.setenv("BS_KEY", "wrong-" + SECRET_KEY)
    farm = make_farm(
        "browserstack",
        provider="browserstack",
        app=str(app_file),
        hub_url=appium_server.url,
        api_url=provider.url,
        username_env="BS_USER",
        access_key_env="BS_KEY",
        devices=[{"name": "Google Pixel 8", "platform_version": "14.0"}],
    )
    out = run_benchmarks(farm, model_a, FAST, tmp_path / "out")
    [record] = out.records
    assert record["error"]["kind"] == "credentials"
    assert "$BS_USER / $BS_KEY" in record["error"]["message"] and "HTTP 401" in record["error"]["message"]
    assert SECRET_KEY not in json.dumps(record) and SECRET_USER not in json.dumps(record)
    # doctor says the same, and the device list call fails with the same clear message
    checks = {c.name: c for c in farm.doctor()}
    assert checks["credentials"].ok and checks["app"].ok and checks["hub"].ok
    assert not checks["provider-api"].ok and "HTTP 401" in checks["provider-api"].message
    with pytest.raises(UserError, match=r"rejected the credentials from \$BS_USER / \$BS_KEY"):
        farm.api.devices()


def test_missing_environment_variables_are_named(provider, app_file, monkeypatch):
    monkeypatch.delenv("SAUCE_USERNAME", raising=False)
    monkeypatch.delenv("SAUCE_ACCESS_KEY", raising=False)
    farm = make_farm("sauce", provider="saucelabs", app=str(app_file), api_url=provider.url, hub_url=provider.url)
    with pytest.raises(UserError, match=r"\$SAUCE_USERNAME, \$SAUCE_ACCESS_KEY"):
        farm.devices()
    cred = {c.name: c for c in farm.doctor()}["credentials"]
    assert not cred.ok and "SAUCE_USERNAME" in cred.message


def test_select_devices_filters_by_version_maker_and_count():
    devices = [
        AppiumDevice("Samsung Galaxy S9", "9.0", manufacturer="Samsung"),
        AppiumDevice("Samsung Galaxy S23", "13.0", manufacturer="Samsung"),
        AppiumDevice("Google Pixel 8", "14.0", manufacturer="Google"),
        AppiumDevice("Xiaomi 13", "13", manufacturer="Xiaomi"),
    ]
    names = lambda sel: [d.name for d in select_devices(devices, sel)]  # noqa: E731
    assert names(Selection(os_version_min="10", os_version_max="13.5")) == ["Samsung Galaxy S23", "Xiaomi 13"]
    assert names(Selection(manufacturers=["samsung"], max_devices=1)) == ["Samsung Galaxy S23"]
    assert names(Selection(name_contains="pixel")) == ["Google Pixel 8"]


def test_memory_delta_only_from_a_pss_baseline():
    sampled = lambda: {"peak_mb": 120.0, "baseline_mb": None, "peak_delta_mb": None, "method": "pss: getPerformanceData"}  # noqa: E731
    host = sampled()
    combine_memory(host, {"peak_mb": 130.0, "baseline_mb": 80.0, "method": "pss (Debug.getPss)"})
    assert (host["peak_mb"], host["baseline_mb"], host["peak_delta_mb"]) == (130.0, 80.0, 50.0)
    host = sampled()
    combine_memory(host, {"peak_mb": None, "baseline_mb": 300.0, "method": "rss"})  # the reference worker: RSS, not comparable
    assert (host["peak_mb"], host["peak_delta_mb"]) == (120.0, None)


@pytest.mark.parametrize("config", ["browserstack.toml", "saucelabs.toml", "appium-hub.toml"])
def test_shipped_configs_parse(config):
    farm_file = load_farm_file(REPO / "farm_configs" / config)
    assert farm_file.kind == "appium" and isinstance(farm_file.settings, AppiumSettings)


def test_config_errors_name_the_key(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('kind = "appium"\n[appium]\nprovider = "browserstack"\napp = "x.apk"\nusername_env = "abc:def"\n')
    with pytest.raises(ConfigError, match=r"bad.toml: key 'appium.username_env': must be the NAME"):
        load_farm_file(bad)
    bad.write_text('kind = "appium"\n[appium]\nprovider = "generic"\napp = "x.apk"\n')
    with pytest.raises(ConfigError, match=r"key 'appium.devices'"):
        load_farm_file(bad)
    bad.write_text('kind = "appium"\n[appium]\nprovider = "kobiton"\napp = "x.apk"\n')
    with pytest.raises(ConfigError, match=r"key 'appium.provider': must be one of"):
        load_farm_file(bad)


def test_an_unreachable_generic_hub_says_how_to_start_it(app_file, model_a, tmp_path):
    from .conftest import free_port

    port = free_port()  # nothing listens here
    farm = make_farm(provider="generic", app=str(app_file), hub_url=f"http://127.0.0.1:{port}", devices=[{"name": "Pixel 6"}])
    [record] = run_benchmarks(farm, model_a, FAST, tmp_path / "out").records
    assert record["error"]["kind"] == "appium", record["error"]
    message = record["error"]["message"]
    assert f"appium --address 127.0.0.1 --port {port}" in message and "MaxRetryError" not in message


def test_a_hub_that_accepts_and_never_answers_is_a_timeout_record_within_the_deadline(app_file, model_a, tmp_path):
    import socket
    import threading
    import time

    held: list[socket.socket] = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def accept_and_say_nothing() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept_and_say_nothing, daemon=True).start()
    hub = f"http://127.0.0.1:{listener.getsockname()[1]}"
    farm = make_farm(
        provider="generic",
        app=str(app_file),
        hub_url=hub,
        session_timeout_s=2,
        devices=[{"name": "Pixel 6"}, {"name": "Pixel 7"}],
    )
    started = time.monotonic()
    try:
        records = run_benchmarks(farm, model_a, FAST, tmp_path / "out").records
    finally:
        listener.close()
        for conn in held:
            conn.close()
    assert [r["error"]["kind"] for r in records] == ["timeout", "timeout"], [r["error"] for r in records]
    assert all("did not answer the new-session request" in r["error"]["message"] for r in records)
    assert time.monotonic() - started < 30  # the two sessions waited 2 s each, in parallel, not forever


@pytest.mark.timeout(180)
def test_a_session_that_freezes_mid_run_is_a_timeout_record_and_the_other_phone_finishes(
    appium_server, app_file, model_a, tmp_path
):
    import time

    farm = make_farm(
        provider="generic",
        app=str(app_file),
        hub_url=appium_server.url,
        command_timeout_s=3,
        devices=[
            {"name": "Frozen phone", "capabilities": {"appium:flintFault": "freeze", "appium:flintFreezeSeconds": 20}},
            {"name": "Fine phone"},
        ],
    )
    records = by_device(run_benchmarks(farm, model_a, FAST, tmp_path / "out"))
    assert records["Fine phone"]["status"] == "ok", records["Fine phone"]["error"]
    hung = records["Frozen phone"]
    assert hung["error"]["kind"] == "timeout" and "stopped answering" in hung["error"]["message"], hung["error"]
    took = datetime.fromisoformat(hung["timestamps"]["finished"]) - datetime.fromisoformat(hung["timestamps"]["started"])
    assert took.total_seconds() < 20, took  # command_timeout_s after the freeze, plus the bounded session close
    deadline = time.monotonic() + 60  # the hub ends the frozen session once its launch returns
    while appium_server.sessions() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert appium_server.sessions() == []


def test_saucelabs_checks_credentials_before_any_device_is_booked(provider, app_file, model_a, tmp_path, monkeypatch):
    monkeypatch.delenv("SAUCE_USERNAME", raising=False)
    monkeypatch.delenv("SAUCE_ACCESS_KEY", raising=False)
    farm = make_farm(
        "sauce",
        provider="saucelabs",
        app=str(app_file),
        api_url=provider.url,
        hub_url=provider.url,
        devices=[{"name": "Google Pixel 7", "platform_version": "13"}, {"name": "Samsung Galaxy S21"}],
    )
    with pytest.raises(UserError, match=r"\$SAUCE_USERNAME, \$SAUCE_ACCESS_KEY"):
        run_benchmarks(farm, model_a, FAST, tmp_path / "out")
    assert provider.requests == [] and not list((tmp_path / "out").glob("*__*.json"))  # nothing uploaded, no record
