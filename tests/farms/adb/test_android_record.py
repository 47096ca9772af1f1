"""The Android app's records, read from the app's own template (`assets/record_template.json`, which
Records.kt loads for every record it writes): an error record filled the way `Records.blank` and
`Records.fail` fill it is valid against the result schema, and the host keeps the app's message."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from toy_record import TOY_MANIFEST, TOY_MODEL

from flint_bench.core.contract import ContractError, merge_device_result, now, validate
from flint_bench.farms.base import Device, RunSettings, new_record

ANDROID = Path(__file__).resolve().parents[3] / "device_apps/android/app/src/main"
TEMPLATE = ANDROID / "assets/record_template.json"
SOURCES = ANDROID / "java/org/flint/bench"


def android_failure(run_id: str, kind: str, message: str, device: dict | None = None) -> dict:
    """What Records.blank + Records.fail (Records.kt) make of the template."""
    record = json.loads(TEMPLATE.read_text())
    record["run_id"] = run_id
    record["device"].update(device or {})  # deviceInfo(), when the phone could be read
    record["runtime"]["version"] = "1.5.1"  # BuildConfig.EXECUTORCH_VERSION
    record["host"]["flint_bench_version"] = "android-app-0.1.0"
    started = now()
    record["timestamps"] = {"started": started, "finished": started}
    record["status"] = "failed"
    record["error"] = {"kind": kind, "message": message}
    record["timestamps"]["finished"] = now()
    return record


def host_record(run_id: str) -> dict:
    return dict(new_record(run_id, TOY_MODEL, Device("R5CT1", "lab"), RunSettings(), TOY_MANIFEST))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "device", [None, {"id": "panther", "manufacturer": "Google", "model": "Pixel 7", "cores": 8, "abi": None}]
)
def test_the_android_error_record_validates_and_carries_the_apps_message(device):
    message = "unreadable spec /sdcard/Android/data/org.flint.bench/files/spec.json: JSONException: End of input at character 0"
    record = android_failure("20261201T001500-abc123", "runtime", message, device)
    validate("result", record)
    merged = merge_device_result(host_record("20261201T001500-abc123"), record)
    assert merged["status"] == "failed" and merged["error"] == {"kind": "runtime", "message": message}
    assert merged["run_id"] == "20261201T001500-abc123"


def test_the_old_error_record_with_only_status_and_error_is_what_the_schema_refuses():
    # the defect this replaces: the error path wrote {status, error} alone, and the host dropped the message
    with pytest.raises(ContractError):
        validate("result", {"status": "failed", "error": {"kind": "spec", "message": "bad spec"}})


def test_the_kotlin_code_builds_every_record_from_the_template():
    sources = {p.name: p.read_text() for p in SOURCES.glob("*.kt")}
    assert 'const val TEMPLATE = "record_template.json"' in sources["Records.kt"] and TEMPLATE.is_file()
    # no record is assembled by hand: a status is set only by Records.fail or Bench.run (ok)
    setters = {name for name, text in sources.items() if 'put("status", "' in text}
    assert setters == {"Records.kt", "Bench.kt"}, setters
    activity = sources["BenchmarkActivity.kt"]
    assert activity.count("Records.blank(") >= 2 and "Records.fail(blank" in activity
    # the run id of an unreadable spec comes from the host's launch (--es run_id), never "unknown" first
    assert 'intent.getStringExtra("run_id") ?: Records.peekRunId(' in activity
    # every duration is read from a monotonic clock
    bench = sources["Bench.kt"]
    assert "SystemClock.elapsedRealtimeNanos()" in bench and "System.currentTimeMillis" not in bench
    assert not re.search(
        r"System\.nanoTime\(\)", bench.replace("private fun now(): Long = SystemClock.elapsedRealtimeNanos()", "")
    )


def test_the_template_keys_are_the_schemas_required_sections():
    from flint_bench.core.contract import schema

    template = json.loads(TEMPLATE.read_text())
    required = schema("result")["required"]
    assert set(required) <= set(template)
    for section in ("device", "model", "timing", "cpu", "memory", "conditions"):
        assert set(schema("result")["properties"][section]["required"]) <= set(template[section]), section
