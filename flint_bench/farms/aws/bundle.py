"""What travels to and from Device Farm (pure: no API calls): the test spec YAML, the model bundle
(the test package), a device from the API's description, and the result inside a job's artifacts."""

from __future__ import annotations

import io
import json
import re
import shlex
import zipfile
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from ...core.errors import UserError
from ...core.units import bytes_to_mib
from ..base import BenchJob, Device
from .settings import AwsSettings

TEST_TYPE = "APPIUM_PYTHON"  # any custom-environment type runs our test spec; this one takes a zip test package
UPLOAD_TYPES = {"app": "ANDROID_APP", "bundle": "APPIUM_PYTHON_TEST_PACKAGE", "spec": "APPIUM_PYTHON_TEST_SPEC"}
RESULT_NAME = "flint/result.json"  # under $DEVICEFARM_LOG_DIR on the test host


ADB_TIMEOUT_S = 60  # the deadline of each adb command of the test spec on the Device Farm host


def render_test_spec(settings: AwsSettings, *, timeout_s: float, cooldown_s: float, description: str, run_id: str) -> str:
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
        adb_timeout_s=ADB_TIMEOUT_S,
        run_id=shlex.quote(re.sub(r"[^\w.:-]", "_", run_id)),
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


def device_from_api(d: dict[str, Any], farm: str) -> Device:
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
        memory_mb=round(bytes_to_mib(memory), 1) if memory else None,
        emulator=False,
        handle={"arn": d["arn"], "model_id": d.get("modelId"), "form_factor": d.get("formFactor")},
    )


def result_from_artifacts(zip_bytes: bytes) -> dict[str, Any] | None:
    """flint/result.json from a customer-artifacts zip (Device Farm nests $DEVICEFARM_LOG_DIR under host folders)."""
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as z:
        names = [n for n in z.namelist() if n.endswith(RESULT_NAME)]
        return json.loads(z.read(names[0])) if names else None
