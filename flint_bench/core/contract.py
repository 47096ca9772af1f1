"""The one contract between host and device: benchmark spec in, result record out (JSON Schema, versioned)."""

from __future__ import annotations

import json
import socket
import subprocess
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from .. import __version__

SCHEMA_VERSION = "1"


@cache
def schema(name: str) -> dict:
    """`name` is 'spec' or 'result'; the files live in device_apps/contract (shipped as flint_bench.contract_schemas)."""
    return json.loads(resources.files("flint_bench.contract_schemas").joinpath(f"{name}.schema.json").read_text())


class ContractError(ValueError):
    pass


def validate(name: str, document: dict) -> None:
    validator = jsonschema.Draft202012Validator(schema(name))
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    if errors:
        e = errors[0]
        where = "/".join(str(p) for p in e.absolute_path) or "(top level)"
        raise ContractError(f"{name} does not match {schema(name)['$id']} at '{where}': {e.message}")


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


def host_info() -> dict:
    return {"commit": host_commit(), "flint_bench_version": __version__, "hostname": socket.gethostname()}


def blank_record(run_id: str, model: dict, device: dict, benchmark: dict) -> dict[str, Any]:
    """A record with every required field present and nothing measured yet; backends fill it in."""
    return {
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
        "cpu": {"mean_percent": None, "max_percent": None, "samples": 0, "method": "none"},
        "memory": {"peak_mb": None, "baseline_mb": None, "peak_delta_mb": None, "method": "none"},
        "network": {"download_bytes": None, "upload_bytes": None, "total_bytes": None},
        "timestamps": {"started": now(), "finished": now()},
        "host": host_info(),
    }


def fail(record: dict, kind: str, message: str) -> dict:
    """Mark a record failed with a kind (e.g. 'timeout', 'disconnected', 'export') and a readable message."""
    record["status"] = "failed"
    record["error"] = {"kind": kind, "message": message}
    record["timestamps"]["finished"] = now()
    return record


# Sections the benchmark app measures; the host owns model, device, benchmark, network and host.
DEVICE_SECTIONS = ("status", "error", "runtime", "timing", "loss")


def merge_device_result(host_record: dict, device_result: dict) -> dict:
    """Take what the device measured into the host's record. CPU, memory and conditions come from
    the device only where the host could not sample them itself."""
    validate("result", device_result)
    for key in DEVICE_SECTIONS:
        host_record[key] = device_result.get(key)
    for key, measured in (("cpu", "mean_percent"), ("memory", "peak_mb"), ("conditions", "battery_percent")):
        if host_record[key].get(measured) is None and device_result[key].get(measured) is not None:
            host_record[key] = device_result[key]
    host_record["timestamps"] = device_result["timestamps"]
    return host_record
