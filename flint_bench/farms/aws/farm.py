"""The AWS Device Farm farm: a custom-environment test run per model over all selected devices.

For each model: upload the app (once), the model bundle (the test package: flint/spec.json,
model.pte, data.npz) and the test spec YAML rendered with jinja2 from templates/ (create_upload,
PUT to the presigned URL, poll get_upload until SUCCEEDED); schedule_run on a device pool ARN or a
deviceSelectionConfiguration; poll get_run; walk jobs -> suites -> tests -> artifacts, download each
job's customer artifacts (a zip of $DEVICEFARM_LOG_DIR) and parse flint/result.json into the
device's record. A job that failed or left no result becomes a failure record.

The unit of work is `_run_many(job, devices)`: one Device Farm run per model over the devices
still to benchmark, so a model costs one run, not one per device. Credentials come from boto3's own chain (AWS_* environment
variables, AWS_PROFILE, an instance role) and are never read or printed here.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import boto3  # the `aws` extra; the registry turns its absence into an install hint
import requests
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ...core.contract import ContractError, FailureKind, fail, merge_device_result
from ...core.errors import UserError
from ...core.records import Record
from ...core.text import Redactor
from ..base import BenchJob, Check, Device, Farm, failure_record
from .bundle import RESULT_NAME, TEST_TYPE, UPLOAD_TYPES, device_from_api, model_bundle, render_test_spec, result_from_artifacts
from .settings import AwsSettings

log = logging.getLogger(__name__)


class DeviceFarmError(Exception):
    pass


class AwsDeviceFarm(Farm):
    kind = "aws-devicefarm"
    settings_class = AwsSettings
    settings: AwsSettings

    def __init__(self, name: str, settings: AwsSettings, config_path: Path | None = None):
        super().__init__(name, settings, config_path)
        self._client: Any = None  # boto3's devicefarm client (generated at run time, untyped)
        self._app_arn: str | None = None
        self._devices: list[Device] | None = None
        self._active_runs: set[str] = set()  # scheduled runs not yet finished: close() stops them
        self._runs_lock = threading.Lock()

    @property
    def client(self) -> Any:
        if self._client is None:
            s = self.settings
            # every API call has a deadline: a hung connection is an error, retried a bounded number of times
            config = Config(connect_timeout=s.api_timeout_s, read_timeout=s.api_timeout_s, retries={"max_attempts": 3})
            self._client = boto3.client("devicefarm", region_name=s.region, config=config)
        return self._client

    @client.setter
    def client(self, value: Any) -> None:
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
    def _run_many(self, job: BenchJob, devices: Sequence[Device]) -> Iterator[Record]:
        """One Device Farm run of the model on `devices`; then each device's record from its job."""
        try:
            outcome = self._run_model(job, devices)
        except (DeviceFarmError, ClientError, BotoCoreError, requests.RequestException, UserError) as e:
            # every device of this model gets the same failure
            for device in devices:
                yield fail(job.blank_record(device), FailureKind.DEVICE_FARM, f"{e}")
            return
        except Exception as e:  # a harness bug: recorded per device, never a lost run
            for device in devices:
                yield failure_record(job, device, e)
            return
        for device in devices:
            yield self._record_for(device, job, outcome)

    def run(self, device: Device, job: BenchJob) -> Record:
        return next(self._run_many(job, [device]))

    def redactor(self) -> Redactor:
        """The AWS keys of boto3's chain: never in a record, whatever an error message quotes."""
        creds = boto3.session.Session().get_credentials()
        frozen = creds.get_frozen_credentials() if creds is not None else None
        return Redactor([frozen.access_key, frozen.secret_key, frozen.token] if frozen else [])

    def _record_for(self, device: Device, job: BenchJob, outcome: dict[str, Any]) -> Record:
        record = job.blank_record(device)
        found = outcome["jobs"].get(device.handle["arn"])
        if found is None:
            return fail(
                record, FailureKind.DEVICE_FARM, f"run {outcome['run_arn']} has no job on {device.id} ({device.handle['arn']})"
            )
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
                FailureKind.DEVICE_FARM,
                f"job on {device.id} ended {found.get('result')} without {RESULT_NAME}: {found.get('message') or 'no message'}"
                f"{' (' + found['artifact_error'] + ')' if found.get('artifact_error') else ''}",
            )
        try:
            merge_device_result(record, result)
        except ContractError as e:
            return fail(record, FailureKind.INVALID_RESULT, f"the app's result on {device.id} is not valid: {e}")
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

    def _run_model(self, job: BenchJob, devices: Sequence[Device]) -> dict[str, Any]:
        """Upload, schedule one run on `devices` (with --resume: only those still to run), wait for it."""
        s = self.settings
        app_arn = self._app()
        tag = f"flint-bench {job.run_id} {job.model.name}"
        bundle_arn = self._upload(f"flint-{job.model.name}-bundle.zip", "bundle", model_bundle(job))
        spec_yaml = render_test_spec(
            s, timeout_s=job.settings.timeout_s, cooldown_s=job.settings.cooldown_s, description=tag, run_id=job.run_id
        )
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
        with self._runs_lock:
            self._active_runs.add(run["arn"])
        try:
            outcome = self._wait_for_run(run, job)
        except Exception:  # the run ended or was stopped; an interrupt leaves it for close() to stop
            self._forget(run["arn"])
            raise
        self._forget(run["arn"])
        return outcome

    def _forget(self, run_arn: str) -> None:
        with self._runs_lock:
            self._active_runs.discard(run_arn)

    def _wait_for_run(self, run: dict[str, Any], job: BenchJob) -> dict[str, Any]:
        s = self.settings
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

    def _job_result(self, job_arn: str) -> dict[str, Any] | None:
        """Walk suites -> tests -> artifacts of one job; the result.json inside its customer artifacts."""
        pages = self.client.get_paginator
        for suite_page in pages("list_suites").paginate(arn=job_arn):
            for suite in suite_page["suites"]:
                for test_page in pages("list_tests").paginate(arn=suite["arn"]):
                    for test in test_page["tests"]:
                        for art_page in pages("list_artifacts").paginate(arn=test["arn"], type="FILE"):
                            for art in art_page["artifacts"]:
                                if art.get("type") == "CUSTOMER_ARTIFACT":
                                    r = requests.get(art["url"], timeout=self.settings.upload_timeout_s)
                                    r.raise_for_status()
                                    found = result_from_artifacts(r.content)
                                    if found is not None:
                                        return found
        return None

    def close(self) -> None:
        """Stop Device Farm runs still going (an interrupted benchmark), so they stop costing device minutes."""
        with self._runs_lock:
            runs = list(self._active_runs)
        for arn in runs:
            try:
                self.client.stop_run(arn=arn)
            except (ClientError, BotoCoreError) as e:
                log.warning("could not stop %s: %s", arn, e)
