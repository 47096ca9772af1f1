"""Every error message enters a record terminal-safe: the host's through fail(), a device's own
through merge_device_result."""

from __future__ import annotations

from flint_bench.core.contract import FailureKind, fail, merge_device_result
from flint_bench.farms.base import Device, RunSettings, new_record

HOSTILE = "boom\x1b[2J\x1b]0;title\x07 line one\nline two"


def test_a_devices_own_error_message_is_terminal_safe_in_the_record(toy):
    result = toy.record()
    result["status"], result["error"] = "failed", {"kind": "runtime", "message": HOSTILE}
    record = merge_device_result(new_record("r1", toy.model, Device("phone", "toy"), RunSettings(), toy.manifest), result)
    message = record["error"]["message"]
    assert "\x1b" not in message and "\x07" not in message
    assert message.startswith("boom") and "line one\nline two" in message


def test_a_hosts_error_message_is_terminal_safe_in_the_record(toy):
    record = new_record("r1", toy.model, Device("phone", "toy"), RunSettings(), toy.manifest)
    message = fail(record, FailureKind.RUNTIME, HOSTILE)["error"]["message"]
    assert "\x1b" not in message and "line one\nline two" in message
