"""Fixtures for the profile, budget and compat tests: phone-like result records."""

from __future__ import annotations

from typing import Any

import pytest


def phone_record(
    model: str,
    device_model: str,
    os_name: str,
    os_version: str,
    per_example_s: list[float],
    *,
    device_id: str | None = None,
    peak_delta_mb: float = 8.0,
    cpu: float = 40.0,
    status: str = "ok",
    storage_bytes: int = 760_000,
    update_bytes: int = 756_000,
) -> dict:
    """A result record as a phone farm would return it (only the fields profiles read)."""
    steps = [per_example_s[i : i + 4] for i in range(0, len(per_example_s), 4)]
    return {
        "status": status,
        "model": {
            "name": model,
            "task": "binary",
            "trainable_params": update_bytes // 4,
            "total_params": storage_bytes // 4,
            "storage_bytes": storage_bytes,
            "update_bytes": update_bytes,
        },
        "device": {
            "id": device_id or f"{device_model}-{os_version}",
            "farm": "adb",
            "manufacturer": "Google",
            "model": device_model,
            "soc": "Tensor",
            "os": os_name,
            "os_version": os_version,
            "abi": "arm64-v8a",
            "cores": 8,
            "memory_mb": 8000,
            "emulator": False,
            "device_class": None,
        },
        # 16 examples per step: a step's seconds are 16 x the per-example time.
        "timing": {"step_seconds": [[16 * x for x in rep] for rep in steps], "step_examples": [[16] * len(rep) for rep in steps]},
        "cpu": {"mean_percent": cpu, "max_percent": cpu * 1.5},
        "memory": {"peak_mb": 200 + peak_delta_mb, "peak_delta_mb": peak_delta_mb, "method": "pss"},
        "network": {"download_bytes": storage_bytes, "upload_bytes": update_bytes, "total_bytes": storage_bytes + update_bytes},
        "error": None if status == "ok" else {"kind": "crash", "message": "out of memory"},
    }


@pytest.fixture
def make_record() -> Any:
    return phone_record
