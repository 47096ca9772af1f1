"""The local farm: emulated device classes, limits that turn into failure records, corrupt models."""

import json

from flint_bench.export import export_model
from flint_bench.farms import FarmFile, open_farm
from flint_bench.farms.base import BenchJob, RunSettings
from flint_bench.farms.local import DeviceClass, LocalSettings
from flint_bench.runner import run_benchmarks, training_data
from flint_bench.zoo import load_model, load_models


def local_farm(*classes: DeviceClass):
    return open_farm(FarmFile(kind="local", name="lab", settings=LocalSettings(devices=list(classes))))


def test_device_classes_are_devices_and_a_memory_limit_fails_only_its_class(tmp_path):
    farm = local_farm(DeviceClass("big", threads=2), DeviceClass("tiny", threads=1, cpu_affinity=[0], memory_limit_mb=40))
    devices = {d.id: d for d in farm.devices()}
    assert devices["tiny"].cores == 1 and devices["tiny"].memory_mb == 40 and devices["big"].device_class == "big"

    outcome = run_benchmarks(farm, load_models(["A"]), RunSettings(examples=32, repeats=1, warmup_steps=0), tmp_path)
    by_device = {r["device"]["id"]: r for r in outcome.records}
    assert by_device["big"]["status"] == "ok" and by_device["big"]["runtime"]["threads"] == 2
    assert by_device["tiny"]["status"] == "failed" and by_device["tiny"]["error"]["kind"] == "memory-limit"
    assert "memory_limit_mb = 40" in by_device["tiny"]["error"]["message"]


def test_timeout_is_a_failure_record(tmp_path):
    settings = RunSettings(examples=32, repeats=1, timeout_s=0.3)
    outcome = run_benchmarks(local_farm(), load_models(["A"]), settings, tmp_path)
    (record,) = outcome.records
    assert record["error"]["kind"] == "timeout" and "timeout_s = 0.3" in record["error"]["message"]


def test_a_corrupt_model_is_reported_not_trained(tmp_path):
    model = load_model("A")
    artifacts = export_model(model)
    settings = RunSettings(examples=32, repeats=1)
    job = BenchJob("r1", model, artifacts, training_data(model, settings, tmp_path), settings)
    corrupt = tmp_path / "training.pte"
    corrupt.write_bytes(artifacts.path("executorch-training").read_bytes()[:-10] + b"0123456789")
    spec = job.spec(str(corrupt), str(job.data_file))
    (tmp_path / "spec.json").write_text(json.dumps(spec))

    from flint_bench.bench.worker import run

    result = run(tmp_path / "spec.json")
    assert result["status"] == "failed" and result["error"]["kind"] == "corrupt-model"


def test_sampler_measures_cpu_of_the_training_phase_only():
    import subprocess
    import sys

    from flint_bench.bench.sampler import ProcessSampler

    busy = "import time\ntime.sleep(0.3)\nprint('PHASE train_start', flush=True)\nt = time.process_time()\nwhile time.process_time() - t < 0.4: pass\nprint('PHASE train_end', flush=True)\ntime.sleep(0.3)\n"
    proc = subprocess.Popen([sys.executable, "-c", busy], stdout=subprocess.PIPE, text=True)
    with ProcessSampler(proc.pid, hz=20) as sampler:
        for line in proc.stdout:
            sampler.mark(line.split()[1])
        proc.wait()
    s = sampler.training
    assert 0.35 < s.wall_seconds < 1.5
    assert 60 < s.mean_cpu_percent <= 110  # one busy core; the idle sleeps around it do not count
    assert s.cpu_percent and max(s.cpu_percent) > 50


def test_an_invalid_record_from_a_backend_becomes_a_failure_record_and_the_others_are_kept(tmp_path):
    from flint_bench.farms.local import LocalFarm

    class Buggy(LocalFarm):
        def run(self, device, job):
            record = super().run(device, job)
            if device.id == "bad":
                record["status"] = "half-done"  # not in the contract
            return record

    farm = Buggy("lab", LocalSettings(devices=[DeviceClass("good"), DeviceClass("bad")]))
    outcome = run_benchmarks(farm, load_models(["A"]), RunSettings(examples=32, repeats=1, warmup_steps=0), tmp_path)
    by_device = {r["device"]["id"]: r for r in outcome.records}
    assert by_device["good"]["status"] == "ok"
    assert by_device["bad"]["error"]["kind"] == "invalid-result" and "status" in by_device["bad"]["error"]["message"]


def test_supervision_is_a_result_object():
    import subprocess
    import sys

    from flint_bench.core.contract import FailureKind
    from flint_bench.farms.local import supervise

    def worker(code: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    done = supervise(worker("import sys; print('PHASE train_start', flush=True); sys.exit(3)"), 30, None, 20)
    assert done.exit_code == 3 and done.stopped is None
    slow = supervise(worker("import time; time.sleep(30)"), 0.3, None, 20)
    assert slow.stopped is not None and slow.stopped[0] is FailureKind.TIMEOUT and "timeout_s = 0.3" in slow.stopped[1]


def test_a_diverged_loss_is_null_never_nan_and_the_timings_are_kept(tmp_path):
    from flint_bench.bench.worker import run
    from flint_bench.core.contract import validate

    model = load_model("A")
    artifacts = export_model(model)
    settings = RunSettings(examples=32, repeats=1, warmup_steps=1)
    job = BenchJob("r1", model, artifacts, training_data(model, settings, tmp_path), settings)
    spec = job.spec(str(artifacts.path("executorch-training")), str(job.data_file))
    spec["learning_rate"] = 1e38  # SGD overflows the weights within a few steps
    (tmp_path / "spec.json").write_text(json.dumps(spec))

    result = run(tmp_path / "spec.json")
    assert result["status"] == "ok", result["error"]
    assert result["loss"]["last"] is None and result["extra"]["loss_diverged"] is True
    assert result["timing"]["step_seconds"]
    json.dumps(result, allow_nan=False)  # what the worker writes is strict JSON
    validate("result", result)


def test_classes_declare_the_platform_and_tier_they_stand_for(write):
    import pytest

    from flint_bench.core.errors import ConfigError
    from flint_bench.farms import load_farm_file

    ff = load_farm_file(
        write(
            "f.toml",
            'kind = "local"\n[[local.devices]]\nname = "lo"\ntier = "low"\n[[local.devices]]\nname = "ip"\nplatform = "iOS"\ntier = "high"\n',
        )
    )
    with open_farm(ff) as farm:
        devices = {d.id: d.as_record() for d in farm.devices()}
    assert (devices["lo"]["platform"], devices["lo"]["tier"]) == ("Android", "low")  # Android by default
    assert (devices["ip"]["platform"], devices["ip"]["tier"]) == ("iOS", "high")
    with pytest.raises(ConfigError, match=r"local\.devices\[0\]\.tier"):
        load_farm_file(write("g.toml", 'kind = "local"\n[[local.devices]]\nname = "lo"\ntier = "budget"\n'))


def test_the_shipped_local_farms_declare_a_tier_for_every_class():
    from pathlib import Path

    from flint_bench.farms import load_farm_file

    root = Path(__file__).resolve().parents[2] / "farm_configs"
    for name in ("local.toml", "local-classes.toml"):
        classes = load_farm_file(root / name).settings.devices
        assert classes and all(c.tier in ("low", "mid", "high") and c.platform == "Android" for c in classes)


def test_the_local_farm_records_the_machine_state_of_the_training_phase(tmp_path):
    import math

    import psutil

    from flint_bench.core.contract import validate

    outcome = run_benchmarks(local_farm(), load_models(["A"]), RunSettings(examples=32, repeats=1, warmup_steps=0), tmp_path)
    (record,) = outcome.records
    validate("result", record)
    m = record["machine"]
    assert m["cpus"] == psutil.cpu_count() and 0 <= m["others_cpu_share"] <= 1
    assert all(math.isfinite(m[k]) and m[k] >= 0 for k in ("load_1min_start", "load_1min_end"))
    assert m["cpu_freq_mhz"] is None or m["cpu_freq_mhz"] > 0
    json.dumps(record, allow_nan=False)


def test_machine_section_is_others_cpu_over_the_machine_and_finite_only():
    from flint_bench.farms.sections import machine_section

    m = machine_section(
        busy_seconds=3.0,
        own_cpu_seconds=1.0,
        steal_seconds=0.2,
        wall_seconds=2.0,
        load_1min=(1.5, 2.0),
        cpus=2,
        cpu_freq_mhz=None,
    )
    assert m["others_cpu_share"] == 0.5 and m["steal_share"] == 0.05 and m["cpu_freq_mhz"] is None
    # the worker's and the machine's clocks tick apart: a quiet machine never reads below 0
    odd = machine_section(
        busy_seconds=0.99,
        own_cpu_seconds=1.0,
        steal_seconds=None,
        wall_seconds=0.0,
        load_1min=(float("nan"), 1.0),
        cpus=2,
        cpu_freq_mhz=float("inf"),
    )
    assert odd["others_cpu_share"] is None and odd["steal_share"] is None  # no wall time: no share
    assert odd["load_1min_start"] is None and odd["cpu_freq_mhz"] is None
    assert (
        machine_section(
            busy_seconds=0.99,
            own_cpu_seconds=1.0,
            steal_seconds=None,
            wall_seconds=1.0,
            load_1min=None,
            cpus=2,
            cpu_freq_mhz=2400.0,
        )["others_cpu_share"]
        == 0.0
    )
