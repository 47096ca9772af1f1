"""The batch interface's default (run_many over run), failure kinds, farms as context managers and
the shared record-section builders, with a farm that needs no device."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from toy_record import TOY_MANIFEST, TOY_MODEL

from flint_bench.core.contract import FailureKind, fail, validate
from flint_bench.farms.base import BenchJob, Device, DeviceLost, Farm, RunSettings, model_section
from flint_bench.farms.sections import combine_memory, cpu_section, memory_section, set_baseline

MODEL, MANIFEST = TOY_MODEL, TOY_MANIFEST


def job(**settings) -> BenchJob:
    artifacts = SimpleNamespace(manifests={"executorch-training": MANIFEST})
    return BenchJob("r1", MODEL, artifacts, Path("data.npz"), RunSettings(**settings))


class ToyFarm(Farm):
    kind = "toy"
    settings_class = dict

    def __init__(self, parallel: bool, behaviour: dict[str, object]):
        super().__init__("toy", {})
        self.parallel, self.behaviour = parallel, behaviour
        self.running, self.most_at_once, self.closed = 0, 0, False
        self.starts: list[float] = []
        self.lock = threading.Lock()

    def devices(self) -> list[Device]:
        return [Device(id=name, farm=self.name) for name in self.behaviour]

    def run(self, device: Device, job: BenchJob):
        with self.lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            self.starts.append(time.monotonic())
        try:
            time.sleep(0.05)
            what = self.behaviour[device.id]
            if isinstance(what, Exception):
                raise what
            record = job.blank_record(device)
            record["status"] = "ok"
            return record
        finally:
            with self.lock:
                self.running -= 1

    def close(self) -> None:
        self.closed = True


def test_run_many_yields_every_device_and_turns_exceptions_into_failure_records():
    farm = ToyFarm(parallel=True, behaviour={"ok": "ok", "gone": DeviceLost("unplugged"), "bug": KeyError("x")})
    records = {r["device"]["id"]: r for r in farm.run_many(job(max_parallel_devices=3), farm.devices())}
    assert records["ok"]["status"] == "ok"
    assert records["gone"]["error"] == {"kind": "disconnected", "message": "device gone went away: unplugged"}
    assert records["bug"]["error"]["kind"] == "harness" and "KeyError" in records["bug"]["error"]["message"]
    for r in records.values():
        validate("result", r)
    assert farm.most_at_once == 3


@pytest.mark.parametrize("parallel, limit, expected", [(True, 2, 2), (False, 4, 1)])
def test_parallelism_follows_the_farm_and_max_parallel_devices(parallel, limit, expected):
    farm = ToyFarm(parallel=parallel, behaviour={f"d{i}": "ok" for i in range(4)})
    assert len(list(farm.run_many(job(max_parallel_devices=limit), farm.devices()))) == 4
    assert farm.most_at_once == expected


def test_cooldown_rests_a_device_between_two_benchmarks_and_the_farm_closes_on_exit():
    with ToyFarm(parallel=True, behaviour={"d": "ok"}) as farm:
        for _ in range(2):
            list(farm.run_many(job(cooldown_s=0.3), farm.devices()))
    assert farm.starts[1] - farm.starts[0] >= 0.3 + 0.05
    assert farm.closed


def test_model_section_from_the_manifest_or_from_the_model_when_export_failed():
    exported, failed = model_section(MODEL, MANIFEST), model_section(MODEL, None)
    assert exported["artifact_sha256"] == MANIFEST.sha256 and exported["storage_bytes"] == 1000
    assert failed["artifact_sha256"] is None and failed["storage_bytes"] is None and failed["trainable_params"] == 10
    record = job().blank_record(Device(id="d", farm="toy"))
    assert record["network"] == {"download_bytes": 1000, "upload_bytes": 40, "total_bytes": 1040}


def test_fail_takes_a_declared_kind():
    record = fail(job().blank_record(Device(id="d", farm="toy")), FailureKind.MEMORY_LIMIT, "too big")
    assert record["error"] == {"kind": "memory-limit", "message": "too big"} and record["status"] == "failed"
    assert {k.value for k in FailureKind} >= {"timeout", "disconnected", "crash", "export", "harness", "invalid-result"}


def test_section_builders():
    assert cpu_section([10.0, 30.0], "m", mean=None) == {
        "mean_percent": None,
        "max_percent": 30.0,
        "samples": 2,
        "method": "m",
        "device_mean_percent": None,
        "device_max_percent": None,
        "cores": None,
    }
    assert cpu_section([10.0, 30.0], "m", mean=20.0, cores=4)["device_mean_percent"] == 5.0  # schema 2: share of the device
    assert cpu_section([], "m", mean=5.0)["max_percent"] == 5.0
    memory = memory_section(100.0, "pss: sampled")
    set_baseline(memory, None)
    assert memory["peak_delta_mb"] is None
    set_baseline(memory, 30.0)
    assert (memory["baseline_mb"], memory["peak_delta_mb"]) == (30.0, 70.0)
    memory = memory_section(100.0, "pss: sampled")
    combine_memory(memory, {"peak_mb": 120.0, "baseline_mb": 20.0, "method": "pss (Debug.getPss)"})
    assert (memory["peak_mb"], memory["peak_delta_mb"]) == (120.0, 100.0) and "app's own PSS peak" in memory["method"]
