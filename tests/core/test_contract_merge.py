"""merge_device_result takes what only the device measured: a sustained run's windows among it."""

from __future__ import annotations

from flint_bench.core.contract import merge_device_result
from flint_bench.farms.base import Device, RunSettings, new_record


def test_a_devices_sustained_windows_reach_the_record(toy):
    result = toy.record()
    windows = [{"t_s": 6.0, "examples_per_s": 410.0}, {"t_s": 12.0, "examples_per_s": 380.0}]
    result["sustained"] = {"minutes": 0.2, "windows": windows, "first_last_ratio": 410.0 / 380.0}
    record = merge_device_result(new_record("r1", toy.model, Device("phone", "toy"), RunSettings(), toy.manifest), result)
    assert record.get("sustained") == result["sustained"]


def test_no_sustained_section_when_the_device_ran_none(toy):
    record = merge_device_result(new_record("r1", toy.model, Device("phone", "toy"), RunSettings(), toy.manifest), toy.record())
    assert record.get("sustained") is None
