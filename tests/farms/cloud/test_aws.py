"""AWS Device Farm: every API call through botocore's Stubber (checked against the real service model),
presigned uploads and artifact downloads against a loopback HTTP server, and the rendered test spec
executed for real by bash with an `adb` that stands in for the phone."""

from __future__ import annotations

import io
import json
import logging
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

boto3 = pytest.importorskip("boto3", reason="boto3 (the `aws` extra) is not installed: pip install 'flint-bench[aws]'")
from botocore.stub import ANY, Stubber  # noqa: E402

from flint_bench.core.config import from_dict  # noqa: E402
from flint_bench.core.contract import validate  # noqa: E402
from flint_bench.core.errors import ConfigError, UserError  # noqa: E402
from flint_bench.farms import FarmFile, load_farm_file, open_farm  # noqa: E402
from flint_bench.farms.aws import AwsSettings, render_test_spec  # noqa: E402
from flint_bench.farms.base import RunSettings  # noqa: E402
from flint_bench.runner import run_benchmarks  # noqa: E402

from .conftest import SECRET_KEY  # noqa: E402

HERE = Path(__file__).parent
REPO = HERE.parents[2]
ACCOUNT = "123456789012"
PROJECT = f"arn:aws:devicefarm:us-west-2:{ACCOUNT}:project:5e01a8c7-c861-4c0a-b1d5-0123456789ab"
RUN = f"arn:aws:devicefarm:us-west-2:{ACCOUNT}:run:5e01a8c7-c861-4c0a-b1d5-0123456789ab/0fcac17b-6122-44d7-ae5a-0123456789ab"
DEVICES = [
    {
        "arn": "arn:aws:devicefarm:us-west-2::device:70D5B22608A149568923E4A225EC5D04",
        "name": "Google Pixel 7",
        "manufacturer": "Google",
        "model": "Pixel 7",
        "modelId": "GVU6C",
        "platform": "ANDROID",
        "os": "13",
        "formFactor": "PHONE",
        "cpu": {"architecture": "arm64-v8a", "frequency": "MHz", "clock": 2850.0},
        "memory": 128 * 2**30,
    },
    {
        "arn": "arn:aws:devicefarm:us-west-2::device:E1F3149FDC33484D824BCFF66003E609",
        "name": "Samsung Galaxy A52",
        "manufacturer": "Samsung",
        "model": "Galaxy A52",
        "modelId": "SM-A525F",
        "platform": "ANDROID",
        "os": "12",
        "formFactor": "PHONE",
        "memory": 128 * 2**30,
    },
]
FAST = RunSettings(examples=64, repeats=2, warmup_steps=1, timeout_s=60)


def settings(**over) -> AwsSettings:
    table = {
        "project_arn": PROJECT,
        "filters": [{"attribute": "MANUFACTURER", "operator": "IN", "values": ["Google", "Samsung"]}],
        "poll_interval_s": 0.01,
        **over,
    }
    return from_dict(AwsSettings, table, "aws.toml", prefix="aws_devicefarm.")


def stubbed_farm(s: AwsSettings, monkeypatch):
    # a secret in the environment that must never surface anywhere
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFLINTTEST0000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    farm = open_farm(FarmFile(kind="aws-devicefarm", name="aws", settings=s))
    client = boto3.client("devicefarm", region_name="us-west-2")
    farm.client = client
    return farm, Stubber(client)


def fake_phone_artifacts(tmp: Path, provider, serial: str) -> bytes:
    """Run the uploaded test spec with the uploaded bundle, as the Device Farm host would, and zip $DEVICEFARM_LOG_DIR."""
    package, logs, phone, bindir = tmp / "package", tmp / "logs", tmp / "phone", tmp / "bin"
    for d in (package, logs, phone, bindir):
        d.mkdir(parents=True)
    zipfile.ZipFile(io.BytesIO(provider.blobs["/blob/bundle"])).extractall(package)
    adb = bindir / "adb"
    adb.write_text(f'#!/bin/sh\nexec {sys.executable} {HERE / "fake_adb.py"} "$@"\n')
    adb.chmod(adb.stat().st_mode | stat.S_IEXEC)
    env = os.environ | {
        "PATH": f"{bindir}:{os.environ['PATH']}",
        "DEVICEFARM_DEVICE_UDID": serial,
        "DEVICEFARM_LOG_DIR": str(logs),
        "DEVICEFARM_TEST_PACKAGE_PATH": str(package),
        "FAKE_PHONE_ROOT": str(phone),
        "FAKE_PHONE_SERIAL": serial,
    }
    spec = yaml.safe_load(provider.blobs["/blob/spec"])
    for name in ("install", "pre_test", "test", "post_test"):
        for command in spec["phases"][name]["commands"]:
            done = subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True, cwd=package)
            assert done.returncode == 0, f"{name}: {command}\n{done.stdout}{done.stderr}"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:  # Device Farm nests the log dir under host folders
        for f in logs.rglob("*"):
            z.write(f, "Host_Machine_Files/$DEVICEFARM_LOG_DIR/" + str(f.relative_to(logs)))
    return buf.getvalue()


def queue_upload(stub: Stubber, provider, kind: str, name: str, type_: str, polls: int = 1) -> None:
    arn = f"arn:aws:devicefarm:us-west-2:{ACCOUNT}:upload:5e01a8c7-c861-4c0a-b1d5-0123456789ab/{kind}-0000-0000"
    stub.add_response(
        "create_upload",
        {"upload": {"arn": arn, "name": name, "type": type_, "status": "INITIALIZED", "url": f"{provider.url}/blob/{kind}"}},
        {"projectArn": PROJECT, "name": name, "type": type_, "contentType": "application/octet-stream"},
    )
    for _ in range(polls):
        stub.add_response("get_upload", {"upload": {"arn": arn, "status": "PROCESSING"}}, {"arn": arn})
    stub.add_response("get_upload", {"upload": {"arn": arn, "status": "SUCCEEDED"}}, {"arn": arn})


def queue_job_artifacts(stub: Stubber, i: int, url: str) -> None:
    job = RUN.replace(":run:", ":job:") + f"/0000{i}"
    suite, test = job.replace(":job:", ":suite:") + "/00001", job.replace(":job:", ":test:") + "/00001/00002"
    stub.add_response("list_suites", {"suites": [{"arn": suite, "name": "Tests Suite"}]}, {"arn": job})
    stub.add_response("list_tests", {"tests": [{"arn": test, "name": "Tests"}]}, {"arn": suite})
    stub.add_response(
        "list_artifacts",
        {
            "artifacts": [
                {
                    "arn": test.replace(":test:", ":artifact:") + "/00003",
                    "name": "Customer Artifacts Log",
                    "type": "CUSTOMER_ARTIFACT_LOG",
                    "url": url + ".log",
                },
                {
                    "arn": test.replace(":test:", ":artifact:") + "/00004",
                    "name": "Customer Artifacts",
                    "type": "CUSTOMER_ARTIFACT",
                    "extension": "zip",
                    "url": url,
                },
            ]
        },
        {"arn": test, "type": "FILE"},
    )


def queue_model_run(stub: Stubber, provider, app_file: Path, booked: list[dict], app_polls: int = 1) -> None:
    """The calls before the run starts: device listing, app / bundle / spec uploads, schedule_run on `booked`."""
    stub.add_response(
        "list_devices",
        {"devices": DEVICES},
        {
            "filters": [
                {"attribute": "MANUFACTURER", "operator": "IN", "values": ["Google", "Samsung"]},
                {"attribute": "PLATFORM", "operator": "EQUALS", "values": ["ANDROID"]},
            ]
        },
    )
    queue_upload(stub, provider, "app", app_file.name, "ANDROID_APP", polls=app_polls)
    queue_upload(stub, provider, "bundle", "flint-A-bundle.zip", "APPIUM_PYTHON_TEST_PACKAGE")
    queue_upload(stub, provider, "spec", "flint-A-testspec.yml", "APPIUM_PYTHON_TEST_SPEC")
    stub.add_response(
        "schedule_run",
        {"run": {"arn": RUN, "status": "SCHEDULING"}},
        {
            "projectArn": PROJECT,
            "appArn": ANY,
            "name": ANY,
            "test": {"type": "APPIUM_PYTHON", "testPackageArn": ANY, "testSpecArn": ANY},
            "executionConfiguration": {"jobTimeoutMinutes": 30},
            "deviceSelectionConfiguration": {
                "filters": [{"attribute": "ARN", "operator": "IN", "values": [d["arn"] for d in booked]}],
                "maxDevices": len(booked),
            },
        },
    )


def test_device_farm_run_end_to_end(provider, app_file, model_a, tmp_path, monkeypatch, caplog, capsys):
    farm, stub = stubbed_farm(settings(app=str(app_file)), monkeypatch)
    queue_model_run(stub, provider, app_file, DEVICES, app_polls=2)
    stub.add_response("get_run", {"run": {"arn": RUN, "status": "RUNNING"}}, {"arn": RUN})
    stub.add_response("get_run", {"run": {"arn": RUN, "status": "COMPLETED", "result": "FAILED"}}, {"arn": RUN})
    stub.add_response(
        "list_jobs",
        {
            "jobs": [
                {
                    "arn": RUN.replace(":run:", ":job:") + "/00000",
                    "status": "COMPLETED",
                    "result": "PASSED",
                    "device": DEVICES[0],
                    "deviceMinutes": {"total": 1.5},
                },
                {
                    "arn": RUN.replace(":run:", ":job:") + "/00001",
                    "status": "COMPLETED",
                    "result": "FAILED",
                    "device": DEVICES[1],
                    "message": "Tests failed: flint-bench found no result within 60 s",
                },
            ]
        },
        {"arn": RUN},
    )
    queue_job_artifacts(stub, 0, f"{provider.url}/blob/artifacts-0.zip")
    queue_job_artifacts(stub, 1, f"{provider.url}/blob/artifacts-1.zip")
    provider.lazy["/blob/artifacts-0.zip"] = lambda: fake_phone_artifacts(tmp_path / "phone0", provider, "R5CT12345")
    provider.blobs["/blob/artifacts-1.zip"] = zipfile_bytes(
        {"Host_Machine_Files/$DEVICEFARM_LOG_DIR/flint/logcat.txt": "E flint: OOM\n"}
    )

    caplog.set_level(logging.DEBUG)
    with stub:
        out = run_benchmarks(farm, model_a, FAST, tmp_path / "out")
        stub.assert_no_pending_responses()

    records = {r["device"]["id"]: r for r in out.records}
    ok, failed = records["Google Pixel 7"], records["Samsung Galaxy A52"]
    validate("result", ok)
    assert ok["status"] == "ok", ok["error"]
    assert ok["timing"]["seconds_per_5000"]["mean"] > 0 and len(ok["timing"]["step_seconds"]) == 2
    assert ok["device"]["abi"] == "arm64-v8a" and ok["device"]["memory_mb"] == 131072.0
    assert ok["extra"]["aws"]["run_arn"] == RUN and ok["extra"]["aws"]["device_minutes"] == 1.5
    # on the phone, the test spec woke and unlocked the screen before it launched the app
    ran = (tmp_path / "phone0/phone/.shell.log").read_text().splitlines()
    launch = next(i for i, c in enumerate(ran) if c.startswith("am start"))
    assert ran.index("input keyevent KEYCODE_WAKEUP") < ran.index("wm dismiss-keyguard") < launch
    assert failed["status"] == "failed" and failed["error"]["kind"] == "device-farm"
    assert "FAILED" in failed["error"]["message"] and "no result within 60 s" in failed["error"]["message"]
    # what was PUT to the presigned URLs: the app bytes, and a bundle whose spec points at its own files
    assert provider.blobs["/blob/app"] == app_file.read_bytes()
    bundle = zipfile.ZipFile(io.BytesIO(provider.blobs["/blob/bundle"]))
    spec = json.loads(bundle.read("flint/spec.json"))
    assert (spec["model"]["artifact"], spec["data"]["file"], spec["examples"]) == ("model.pte", "data.npz", 64)
    assert {"flint/model.pte", "flint/data.npz", "requirements.txt"} <= set(bundle.namelist())
    # the secret from the environment is nowhere
    text = caplog.text + "".join(capsys.readouterr()) + "".join(p.read_text() for p in (tmp_path / "out").glob("*.json"))
    assert SECRET_KEY not in text


def zipfile_bytes(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return buf.getvalue()


def test_rejected_upload_fails_every_device_of_the_model(provider, app_file, model_a, tmp_path, monkeypatch):
    pool = f"arn:aws:devicefarm:us-west-2:{ACCOUNT}:devicepool:5e01a8c7-c861-4c0a-b1d5-0123456789ab/abcd-0000"
    farm, stub = stubbed_farm(settings(app=str(app_file), filters=[], device_pool_arn=pool), monkeypatch)
    stub.add_response(
        "get_device_pool_compatibility",
        {"compatibleDevices": [{"device": d, "compatible": True} for d in DEVICES]},
        {"devicePoolArn": pool, "testType": "APPIUM_PYTHON"},
    )
    arn = f"arn:aws:devicefarm:us-west-2:{ACCOUNT}:upload:5e01a8c7-c861-4c0a-b1d5-0123456789ab/app-0000-0000"
    stub.add_response("create_upload", {"upload": {"arn": arn, "status": "INITIALIZED", "url": f"{provider.url}/blob/app"}}, None)
    stub.add_response(
        "get_upload",
        {"upload": {"arn": arn, "status": "FAILED", "metadata": '{"errorMessage": "not a valid APK"}'}},
        {"arn": arn},
    )
    with stub:
        out = run_benchmarks(farm, model_a, FAST, tmp_path / "out")
    assert [r["error"]["kind"] for r in out.records] == ["device-farm", "device-farm"]
    assert all("not a valid APK" in r["error"]["message"] for r in out.records)


def test_doctor_and_device_listing_errors(app_file, monkeypatch):
    farm, stub = stubbed_farm(settings(app=str(app_file)), monkeypatch)
    stub.add_response("get_project", {"project": {"arn": PROJECT, "name": "flint"}}, {"arn": PROJECT})
    stub.add_response("list_devices", {"devices": DEVICES[:1]}, None)
    with stub:
        checks = {c.name: c for c in farm.doctor()}
    assert all(c.ok for c in checks.values()), checks
    assert checks["devices"].message == "1 device(s) selected" and "'flint'" in checks["project"].message

    farm, stub = stubbed_farm(settings(app=str(app_file)), monkeypatch)
    stub.add_client_error(
        "list_devices", "UnrecognizedClientException", "The security token included in the request is invalid.", 400
    )
    with stub, pytest.raises(UserError, match=r"cannot list devices.*security token.*AWS_ACCESS_KEY_ID"):
        farm.devices()


def test_test_spec_is_valid_yaml_with_the_phases_and_quotes_nothing_unsafe():
    text = render_test_spec(
        settings(app="x.apk", package="com.example.bench", activity=".Main"),
        timeout_s=120,
        cooldown_s=5,
        description="model\r\nphases: {evil: 1}\n- $(id)",
        run_id="20261201T0100-ab$(id)",
    )
    doc = yaml.safe_load(text)
    assert list(doc) == ["version", "android_test_host", "phases", "artifacts"]
    assert list(doc["phases"]) == ["install", "pre_test", "test", "post_test"]
    assert "$(id)" not in text
    assert doc["artifacts"] == ["$DEVICEFARM_LOG_DIR"]
    joined = "\n".join(c for p in doc["phases"].values() for c in p["commands"])
    assert '-s "$DEVICEFARM_DEVICE_UDID"' in joined and "com.example.bench/.Main" in joined and "sleep 5" in joined
    assert "/sdcard/Android/data/com.example.bench/files/result.json" in joined
    # the screen is woken and unlocked before the launch, every adb command of the test phase has a deadline
    test = doc["phases"]["test"]["commands"]
    launch = next(i for i, c in enumerate(test) if " am start " in c)
    for step in ("input keyevent KEYCODE_WAKEUP", "wm dismiss-keyguard", "input keyevent 82"):
        assert any(step in c for c in test[:launch]), step
    assert all(c.startswith("timeout ") for c in test if c.lstrip().startswith(("timeout", "adb")) and "pull" not in c)
    assert "--es run_id 20261201T0100-ab__id_" in test[launch]


@pytest.mark.parametrize(
    "key, value",
    [("package", "org.x; rm -rf /"), ("activity", ".Main $(id)"), ("remote_dir", "/sdcard/a b"), ("project_arn", "my-project")],
)
def test_shell_or_arn_shaped_mistakes_are_config_errors(key, value):
    with pytest.raises(ConfigError, match=f"key 'aws_devicefarm.{key}'"):
        settings(app="x.apk", **{key: value})


def test_shipped_config_parses():
    farm_file = load_farm_file(REPO / "farm_configs" / "aws-devicefarm.toml")
    assert farm_file.kind == "aws-devicefarm" and farm_file.settings.project_arn.startswith("arn:aws:devicefarm:")


def test_resume_books_device_farm_only_for_the_devices_still_to_run(provider, app_file, model_a, tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "A__Google_Pixel_7.json").write_text('{"status": "ok"}')  # finished before the interruption
    farm, stub = stubbed_farm(settings(app=str(app_file)), monkeypatch)
    queue_model_run(stub, provider, app_file, [DEVICES[1]])  # only the device still to run is booked
    stub.add_response("get_run", {"run": {"arn": RUN, "status": "COMPLETED", "result": "FAILED"}}, {"arn": RUN})
    stub.add_response(
        "list_jobs",
        {
            "jobs": [
                {
                    "arn": RUN.replace(":run:", ":job:") + "/00001",
                    "status": "COMPLETED",
                    "result": "FAILED",
                    "device": DEVICES[1],
                    "message": "no result",
                },
            ]
        },
        {"arn": RUN},
    )
    queue_job_artifacts(stub, 1, f"{provider.url}/blob/artifacts-1.zip")
    provider.blobs["/blob/artifacts-1.zip"] = zipfile_bytes(
        {"Host_Machine_Files/$DEVICEFARM_LOG_DIR/flint/logcat.txt": "E flint: OOM\n"}
    )

    with stub:
        outcome = run_benchmarks(farm, model_a, FAST, out, resume=True)
        stub.assert_no_pending_responses()
    assert outcome.skipped == 1
    assert [r["device"]["id"] for r in outcome.records] == ["Samsung Galaxy A52"]
