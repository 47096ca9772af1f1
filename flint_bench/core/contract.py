"""The one contract between host and device: benchmark spec in, result record out (JSON Schema, versioned)."""

from __future__ import annotations

import enum
import json
import math
import socket
import subprocess
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, cast

import jsonschema

from .. import __version__
from .records import (
    BenchmarkSection,
    ConditionsSection,
    CpuSection,
    DeviceSection,
    ErrorSection,
    HostSection,
    MemorySection,
    ModelSection,
    Record,
    RuntimeSection,
    SustainedSection,
    TimingSection,
    fill_derived,
)
from .text import MESSAGE_LIMIT, terminal_safe

SCHEMA_VERSION = "2"
# Versions a reader accepts: a version-1 record is read and its derived fields filled (records.fill_derived).
READABLE_VERSIONS = ("1", "2")


@cache
def schema(name: str) -> dict:
    """`name` is 'spec' or 'result'; the files live in device_apps/contract (shipped as flint_bench.contract_schemas)."""
    return json.loads(resources.files("flint_bench.contract_schemas").joinpath(f"{name}.schema.json").read_text())


class ContractError(ValueError):
    pass


class FailureKind(enum.StrEnum):
    """Why a benchmark failed on a device: the one declared set of `error.kind`s the host writes
    (the reference worker's `corrupt-model` and `runtime` included), shared by runner and farms."""

    # the harness
    EXPORT = "export"
    HARNESS = "harness"
    INVALID_RESULT = "invalid-result"
    DISCONNECTED = "disconnected"
    # the benchmark on the device
    TIMEOUT = "timeout"
    CRASH = "crash"
    MEMORY_LIMIT = "memory-limit"
    CORRUPT_MODEL = "corrupt-model"
    RUNTIME = "runtime"
    # getting the app onto the device and launching it
    APP_MISSING = "app-missing"
    INSTALL = "install"
    LAUNCH = "launch"
    THERMAL = "thermal"
    # farm transports
    ADB = "adb"
    APPIUM = "appium"
    SESSION_REFUSED = "session-refused"
    CREDENTIALS = "credentials"
    UPLOAD = "upload"
    DEVICE_FARM = "device-farm"


INT64 = (-(2**63), 2**63 - 1)  # the result table stores integers as int64


def _out_of_range(document: Any, where: str = "") -> str | None:
    """The path of the first number no figure of a benchmark can be: NaN or an infinity (JSON Schema's
    "number" admits them, JSON itself does not), or an integer beyond 64 bits (JSON admits any
    length; the table and float arithmetic do not)."""
    if isinstance(document, float) and not math.isfinite(document):
        return where or "(top level)"
    if isinstance(document, int) and not INT64[0] <= document <= INT64[1]:
        return where or "(top level)"
    items = document.items() if isinstance(document, dict) else enumerate(document) if isinstance(document, list) else ()
    for key, value in items:
        if found := _out_of_range(value, f"{where}/{key}" if where else str(key)):
            return found
    return None


def validate(name: str, document: Any) -> None:
    """Check `document` against the schema (which declares timings, memory and CPU non-negative) and
    that every number in it is finite and every integer fits in 64 bits."""
    validator = jsonschema.Draft202012Validator(schema(name))
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    if errors:
        e = errors[0]
        where = "/".join(str(p) for p in e.absolute_path) or "(top level)"
        raise ContractError(f"{name} does not match {schema(name)['$id']} at '{where}': {e.message}")
    if path := _out_of_range(document):
        raise ContractError(f"{name} has a number out of range at '{path}': only finite numbers and 64-bit integers are valid")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@cache
def host_commit() -> str | None:
    """The git commit of the harness, when run from a checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def host_info() -> HostSection:
    return {"commit": host_commit(), "flint_bench_version": __version__, "hostname": socket.gethostname()}


def blank_record(run_id: str, model: ModelSection, device: DeviceSection, benchmark: BenchmarkSection) -> Record:
    """A record with every required field present and nothing measured yet; backends fill it in."""
    record: Record = {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "status": "failed",
        "error": None,
        "model": model,
        "device": device,
        "runtime": {"name": "executorch", "version": None, "threads": None},
        "conditions": {"battery_percent": None, "charging": None, "thermal_state": None, "cooldown_seconds": None},
        "benchmark": benchmark,
        "timing": {
            "step_seconds": [],
            "step_examples": [],
            "per_example_seconds": None,
            "seconds_per_5000": None,
            "load_seconds": None,
        },
        "loss": None,
        "cpu": {"mean_percent": None, "max_percent": None, "samples": 0, "method": "none", "cores": device["cores"]},
        "memory": {"peak_mb": None, "baseline_mb": None, "peak_delta_mb": None, "method": "none"},
        "network": {"download_bytes": None, "upload_bytes": None, "total_bytes": None},
        "timestamps": {"started": now(), "finished": now()},
        "host": host_info(),
    }
    return fill_derived(record)


def fail(record: Record, kind: FailureKind, message: str) -> Record:
    """Mark a record failed with a kind and a readable message (terminal-safe: messages often carry a
    device's or a library's text)."""
    record["status"] = "failed"
    record["error"] = {"kind": kind.value, "message": terminal_safe(message, MESSAGE_LIMIT, keep_lines=True)}
    record["timestamps"]["finished"] = now()
    return record


def merge_device_result(host_record: Record, device_result: dict[str, Any]) -> Record:
    """Take what the device measured (status, error, runtime, timing, loss, sustained, timestamps) into the
    host's record. CPU, memory and conditions come from the device only where the host could not
    sample them itself; the host owns model, device, benchmark, network and host."""
    validate("result", device_result)
    host_record["status"] = device_result["status"]
    error = device_result.get("error")
    # the device's own message enters the record here, as a host's does through fail(): both terminal-safe
    host_record["error"] = (
        cast(ErrorSection, {**error, "message": terminal_safe(error["message"], MESSAGE_LIMIT, keep_lines=True)})
        if error
        else None
    )
    host_record["runtime"] = cast(RuntimeSection, device_result.get("runtime"))
    host_record["timing"] = cast(TimingSection, device_result.get("timing"))
    host_record["loss"] = device_result.get("loss")
    if device_result.get("sustained") is not None:
        host_record["sustained"] = cast(SustainedSection, device_result["sustained"])
    if host_record["cpu"]["mean_percent"] is None and device_result["cpu"].get("mean_percent") is not None:
        host_record["cpu"] = cast(CpuSection, device_result["cpu"])
    if host_record["memory"]["peak_mb"] is None and device_result["memory"].get("peak_mb") is not None:
        host_record["memory"] = cast(MemorySection, device_result["memory"])
    if host_record["conditions"]["battery_percent"] is None and device_result["conditions"].get("battery_percent") is not None:
        host_record["conditions"] = cast(ConditionsSection, device_result["conditions"])
    host_record["timestamps"] = device_result["timestamps"]
    return host_record
