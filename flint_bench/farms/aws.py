"""The AWS Device Farm farm: a custom-environment test run per model over all selected devices.

For each model: upload the app (once), the model bundle (the test package: flint/spec.json,
model.pte, data.npz) and the test spec YAML rendered with jinja2 from templates/ (create_upload,
PUT to the presigned URL, poll get_upload until SUCCEEDED); schedule_run on a device pool ARN or a
deviceSelectionConfiguration; poll get_run; walk jobs -> suites -> tests -> artifacts, download each
job's customer artifacts (a zip of $DEVICEFARM_LOG_DIR) and parse flint/result.json into the
device's record. A job that failed or left no result becomes a failure record.

The runner calls run(device, job) from one thread per device; the first call for a model
schedules the Device Farm run for every device and the others wait for its outcome, so a model
costs one run, not one per device. Credentials come from boto3's own chain (AWS_* environment
variables, AWS_PROFILE, an instance role) and are never read or printed here.
"""

from __future__ import annotations

import io
import json
import logging
import re
import shlex
import threading
import time
import zipfile
from concurrent.futures import Future
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import boto3  # the `aws` extra; the registry turns its absence into an install hint
import jinja2
import requests
from botocore.exceptions import BotoCoreError, ClientError

from ..core.contract import ContractError, fail, merge_device_result
from ..core.errors import ConfigError, UserError
from .base import BenchJob, Check, Device, Farm

log = logging.getLogger(__name__)

TEST_TYPE = "APPIUM_PYTHON"  # any custom-environment type runs our test spec; this one takes a zip test package
UPLOAD_TYPES = {"app": "ANDROID_APP", "bundle": "APPIUM_PYTHON_TEST_PACKAGE", "spec": "APPIUM_PYTHON_TEST_SPEC"}
RESULT_NAME = "flint/result.json"  # under $DEVICEFARM_LOG_DIR on the test host


@dataclass
class DeviceFilter:
    """One deviceSelectionConfiguration filter, as in the Device Farm API."""

    attribute: Literal[
        "ARN",
        "PLATFORM",
        "OS_VERSION",
        "MODEL",
        "AVAILABILITY",
        "FORM_FACTOR",
        "MANUFACTURER",
        "REMOTE_ACCESS_ENABLED",
        "REMOTE_DEBUG_ENABLED",
        "INSTANCE_ARN",
        "INSTANCE_LABELS",
        "FLEET_TYPE",
    ]
    operator: Literal[
        "EQUALS", "LESS_THAN", "LESS_THAN_OR_EQUALS", "GREATER_THAN", "GREATER_THAN_OR_EQUALS", "IN", "NOT_IN", "CONTAINS"
    ]
    values: list[str]


@dataclass
class AwsSettings:
    project_arn: str
    app: str  # the benchmark .apk
    region: str = "us-west-2"  # Device Farm's only region
    device_pool_arn: str | None = None  # or filters below
    filters: list[DeviceFilter] = field(default_factory=list)
    max_devices: int = 5
    package: str = "org.flint.bench"
    activity: str = ".BenchmarkActivity"
    remote_dir: str = "/sdcard/Android/data/{package}/files"
    test_host: str = "amazon_linux_2"
    test_spec_template: str | None = None  # a jinja2 file of your own; default: templates/devicefarm-android.yml.j2
    poll_interval_s: float = 15.0
    upload_timeout_s: float = 600.0
    job_timeout_minutes: int = 30

    def validate(self, file: str, prefix: str) -> None:
        if not re.fullmatch(r"arn:aws:devicefarm:[a-z0-9-]+:\d{12}:project:[\w-]+", self.project_arn):
            raise ConfigError(
                file,
                prefix + "project_arn",
                f"not a Device Farm project ARN (arn:aws:devicefarm:us-west-2:<account>:project:<id>): {self.project_arn!r}",
            )
        if self.device_pool_arn is not None and ":devicepool:" not in self.device_pool_arn:
            raise ConfigError(file, prefix + "device_pool_arn", f"not a device pool ARN: {self.device_pool_arn!r}")
        if self.device_pool_arn and self.filters:
            raise ConfigError(file, prefix + "filters", "give device_pool_arn or filters, not both")
        # these are rendered into shell commands of the test spec: allow no shell metacharacters
        if not re.fullmatch(r"[A-Za-z][\w]*(\.[A-Za-z][\w]*)+", self.package):
            raise ConfigError(file, prefix + "package", f"not a Java package name: {self.package!r}")
        if not re.fullmatch(r"\.?[A-Za-z][\w]*(\.[A-Za-z][\w]*)*", self.activity):
            raise ConfigError(file, prefix + "activity", f"not an activity class name: {self.activity!r}")
        if not re.fullmatch(r"/[\w./{}-]+", self.remote_dir):
            raise ConfigError(
                file, prefix + "remote_dir", f"must be an absolute device path of letters, digits, . _ - /: {self.remote_dir!r}"
            )
        if not 1 <= self.max_devices <= 100:
            raise ConfigError(file, prefix + "max_devices", "must be between 1 and 100")
        if self.poll_interval_s <= 0 or self.upload_timeout_s <= 0 or self.job_timeout_minutes < 1:
            raise ConfigError(
                file,
                prefix + "poll_interval_s",
                "poll_interval_s and upload_timeout_s must be positive, job_timeout_minutes at least 1",
            )

    @property
    def device_dir(self) -> str:
        return self.remote_dir.replace("{package}", self.package).rstrip("/")


def render_test_spec(settings: AwsSettings, *, timeout_s: float, cooldown_s: float, description: str) -> str:
    """The custom-environment test spec YAML (pure: settings in, text out)."""
    if settings.test_spec_template:
        path = Path(settings.test_spec_template)
        if not path.is_file():
            raise UserError(f"[aws_devicefarm] test_spec_template = {str(path)!r}: file not found.")
        source = path.read_text()
    else:
        source = resources.files("flint_bench.farms").joinpath("templates/devicefarm-android.yml.j2").read_text()
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    return env.from_string(source).render(
        description=re.sub(r"[^\w .:/-]", "_", description),
        package=settings.package,
        activity=settings.activity,
        remote_dir=shlex.quote(settings.device_dir),
        test_host=settings.test_host,
        timeout_s=int(timeout_s),
        poll_s=2,
        cooldown_s=int(cooldown_s),
    )


def model_bundle(job: BenchJob) -> bytes:
    """The test package: our spec, program and data under flint/, plus the layout an Appium Python package needs."""
    spec = job.spec("model.pte", "data.npz", None)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("flint/spec.json", json.dumps(spec, indent=1))
        z.write(job.training_artifact, "flint/model.pte")
        z.write(job.data_file, "flint/data.npz")
        z.writestr("requirements.txt", "")  # the test spec runs adb only: nothing to pip install
        z.writestr("wheelhouse/", "")
        z.writestr("tests/README.txt", "flint-bench runs the custom-environment test spec, not pytest; see flint/.\n")
    return buf.getvalue()


def device_from_api(d: dict, farm: str) -> Device:
    memory = d.get("memory")
    return Device(
        id=d.get("name") or d["arn"].rsplit("/", 1)[-1],
        farm=farm,
        manufacturer=d.get("manufacturer"),
        model=d.get("model") or d.get("modelId"),
        soc=None,
        os=(d.get("platform") or "").title() or None,
        os_version=d.get("os"),
        abi=(d.get("cpu") or {}).get("architecture"),
        cores=None,
        memory_mb=round(memory / 2**20, 1) if memory else None,
        emulator=False,
        handle={"arn": d["arn"], "model_id": d.get("modelId"), "form_factor": d.get("formFactor")},
    )


def result_from_artifacts(zip_bytes: bytes) -> dict | None:
    """flint/result.json from a customer-artifacts zip (Device Farm nests $DEVICEFARM_LOG_DIR under host folders)."""
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as z:
        names = [n for n in z.namelist() if n.endswith(RESULT_NAME)]
        return json.loads(z.read(names[0])) if names else None


class DeviceFarmError(Exception):
    pass


class AwsDeviceFarm(Farm):
    kind = "aws-devicefarm"
    settings_class = AwsSettings

    def __init__(self, name: str, settings: AwsSettings, config_path: Path | None = None):
        super().__init__(name, settings, config_path)
        self._client = None
        self._lock = threading.Lock()
        self._app_arn: str | None = None
        self._runs: dict[tuple[str, str], Future] = {}
        self._devices: list[Device] | None = None
        self._pending: dict[str, list[Device]] = {}

    @property
    def client(self):
        if self._client is None:
            self._client = boto3.client("devicefarm", region_name=self.settings.region)
        return self._client

    @client.setter
    def client(self, value) -> None:
        self._client = value

    # ---- devices -------------------------------------------------------------------------------
    def devices(self) -> list[Device]:
        if self._devices is None:
            try:
                self._devices = self._list_devices()
            except (ClientError, BotoCoreError) as e:
                raise UserError(
                    f"AWS Device Farm: cannot list devices: {e}. Check the AWS credentials (AWS_ACCESS_KEY_ID / AWS_PROFILE) and the region."
                ) from None
        return self._devices

    def _list_devices(self) -> list[Device]:
        s = self.settings
        if s.device_pool_arn:
            found = self.client.get_device_pool_compatibility(devicePoolArn=s.device_pool_arn, testType=TEST_TYPE)
            rows = [c["device"] for c in found.get("compatibleDevices", []) if c.get("compatible", True)]
        else:
            filters = [{"attribute": f.attribute, "operator": f.operator, "values": f.values} for f in s.filters]
            if not any(f["attribute"] == "PLATFORM" for f in filters):
                filters.append({"attribute": "PLATFORM", "operator": "EQUALS", "values": ["ANDROID"]})
            rows = [d for page in self.client.get_paginator("list_devices").paginate(filters=filters) for d in page["devices"]]
            rows.sort(key=lambda d: (d.get("name") or "", d.get("os") or ""))
            rows = rows[: s.max_devices]
        return [device_from_api(d, self.name) for d in rows]

    def doctor(self) -> list[Check]:
        checks = []
        creds = boto3.session.Session().get_credentials()
        checks.append(
            Check(
                "credentials",
                creds is not None,
                "AWS credentials found (boto3 chain)"
                if creds
                else "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE",
            )
        )
        app = Path(self.settings.app)
        checks.append(
            Check(
                "app",
                app.is_file(),
                f"{app} exists" if app.is_file() else f"{app} not found: build device_apps/android (see its README)",
            )
        )
        if creds is None:
            return checks
        try:
            project = self.client.get_project(arn=self.settings.project_arn)["project"]
            checks.append(Check("project", True, f"project '{project.get('name')}' is reachable"))
            n = len(self.devices())
            checks.append(Check("devices", n > 0, f"{n} device(s) selected" if n else "no device matches the pool / filters"))
        except (ClientError, BotoCoreError, UserError) as e:
            checks.append(Check("project", False, f"{e}"))
        return checks

    # ---- run -----------------------------------------------------------------------------------
    def plan(self, pending: dict[str, list[Device]]) -> None:
        self._pending = pending

    def run(self, device: Device, job: BenchJob) -> dict:
        key = (job.run_id, job.model.name)
        with self._lock:
            future = self._runs.get(key)
            owner = future is None
            if owner:
                future = self._runs[key] = Future()
        if owner:
            try:
                future.set_result(self._run_model(job))
            except Exception as e:  # every device of this model gets the same failure
                future.set_exception(e)
        try:
            outcome: dict[str, Any] = future.result()
        except (DeviceFarmError, ClientError, BotoCoreError, requests.RequestException, UserError) as e:
            return fail(job.blank_record(device), "device-farm", f"{e}")
        return self._record_for(device, job, outcome)

    def _record_for(self, device: Device, job: BenchJob, outcome: dict) -> dict:
        record = job.blank_record(device)
        found = outcome["jobs"].get(device.handle["arn"])
        if found is None:
            return fail(record, "device-farm", f"run {outcome['run_arn']} has no job on {device.id} ({device.handle['arn']})")
        record["extra"] = {
            "aws": {
                "run_arn": outcome["run_arn"],
                "job_arn": found["arn"],
                "result": found.get("result"),
                "device_minutes": (found.get("deviceMinutes") or {}).get("total"),
            }
        }
        result = found.get("flint_result")
        if result is None:
            return fail(
                record,
                "device-farm",
                f"job on {device.id} ended {found.get('result')} without {RESULT_NAME}: {found.get('message') or 'no message'}"
                f"{' (' + found['artifact_error'] + ')' if found.get('artifact_error') else ''}",
            )
        try:
            merge_device_result(record, result)
        except ContractError as e:
            return fail(record, "invalid-result", f"the app's result on {device.id} is not valid: {e}")
        return record

    def _upload(self, name: str, kind: str, data: bytes) -> str:
        """create_upload, PUT to the presigned URL, poll get_upload until SUCCEEDED; returns the upload ARN."""
        s = self.settings
        upload = self.client.create_upload(
            projectArn=s.project_arn, name=name, type=UPLOAD_TYPES[kind], contentType="application/octet-stream"
        )["upload"]
        r = requests.put(
            upload["url"], data=data, headers={"Content-Type": "application/octet-stream"}, timeout=s.upload_timeout_s
        )
        if not r.ok:
            raise DeviceFarmError(f"uploading {name}: the presigned URL answered HTTP {r.status_code}")
        deadline = time.monotonic() + s.upload_timeout_s
        while True:
            got = self.client.get_upload(arn=upload["arn"])["upload"]
            if got["status"] == "SUCCEEDED":
                return upload["arn"]
            if got["status"] == "FAILED":
                raise DeviceFarmError(
                    f"Device Farm rejected {name}: {got.get('metadata') or got.get('message') or 'no reason given'}"
                )
            if time.monotonic() > deadline:
                raise DeviceFarmError(f"uploading {name}: still {got['status']} after {s.upload_timeout_s:g} s")
            time.sleep(s.poll_interval_s)

    def _app(self) -> str:
        if self._app_arn is None:
            path = Path(self.settings.app)
            if not path.is_file():
                raise UserError(
                    f"[aws_devicefarm] app = {str(path)!r}: file not found. Build the benchmark app (device_apps/android/README.md)."
                )
            self._app_arn = self._upload(path.name, "app", path.read_bytes())
        return self._app_arn

    def _run_model(self, job: BenchJob) -> dict:
        s = self.settings
        devices = self._pending.get(job.model.name) or self.devices()  # with --resume: only the devices still to run
        app_arn = self._app()
        tag = f"flint-bench {job.run_id} {job.model.name}"
        bundle_arn = self._upload(f"flint-{job.model.name}-bundle.zip", "bundle", model_bundle(job))
        spec_yaml = render_test_spec(s, timeout_s=job.settings.timeout_s, cooldown_s=job.settings.cooldown_s, description=tag)
        spec_arn = self._upload(f"flint-{job.model.name}-testspec.yml", "spec", spec_yaml.encode())
        whole_pool = s.device_pool_arn and len(devices) == len(self.devices())
        where: dict[str, Any] = (
            {"devicePoolArn": s.device_pool_arn}
            if whole_pool
            else {
                "deviceSelectionConfiguration": {
                    "filters": [{"attribute": "ARN", "operator": "IN", "values": [d.handle["arn"] for d in devices]}],
                    "maxDevices": len(devices),
                }
            }
        )
        run = self.client.schedule_run(
            projectArn=s.project_arn,
            appArn=app_arn,
            name=tag[:256],
            test={"type": TEST_TYPE, "testPackageArn": bundle_arn, "testSpecArn": spec_arn},
            executionConfiguration={"jobTimeoutMinutes": s.job_timeout_minutes},
            **where,
        )["run"]
        log.info("scheduled %s for %s on %d device(s)", run["arn"], job.model.name, len(devices))
        # the whole run may take a job timeout per device batch; give up (and stop it) past that
        deadline = time.monotonic() + max(job.settings.timeout_s, s.job_timeout_minutes * 60) * 2 + 600
        while run["status"] != "COMPLETED":
            if time.monotonic() > deadline:
                self.client.stop_run(arn=run["arn"])
                raise DeviceFarmError(f"run {run['arn']} still {run['status']} past its deadline; it was stopped")
            time.sleep(s.poll_interval_s)
            run = self.client.get_run(arn=run["arn"])["run"]
        jobs = {}
        for page in self.client.get_paginator("list_jobs").paginate(arn=run["arn"]):
            for j in page["jobs"]:
                found = dict(j)
                try:
                    found["flint_result"] = self._job_result(j["arn"])
                except (requests.RequestException, zipfile.BadZipFile, json.JSONDecodeError, KeyError) as e:
                    found["flint_result"], found["artifact_error"] = (
                        None,
                        f"customer artifacts unreadable: {type(e).__name__}: {e}",
                    )
                jobs[j["device"]["arn"]] = found
        return {"run_arn": run["arn"], "result": run.get("result"), "jobs": jobs}

    def _job_result(self, job_arn: str) -> dict | None:
        """Walk suites -> tests -> artifacts of one job; the result.json inside its customer artifacts."""
        pages = self.client.get_paginator
        for suite_page in pages("list_suites").paginate(arn=job_arn):
            for suite in suite_page["suites"]:
                for test_page in pages("list_tests").paginate(arn=suite["arn"]):
                    for test in test_page["tests"]:
                        for art_page in pages("list_artifacts").paginate(arn=test["arn"], type="FILE"):
                            for art in art_page["artifacts"]:
                                if art.get("type") == "CUSTOMER_ARTIFACT":
                                    r = requests.get(art["url"], timeout=300)
                                    r.raise_for_status()
                                    found = result_from_artifacts(r.content)
                                    if found is not None:
                                        return found
        return None
