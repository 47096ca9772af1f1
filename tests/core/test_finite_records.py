"""Only finite numbers in records: the contract rejects NaN, infinities and negative timings, and the
runner turns such a result into an `invalid-result` record that is itself valid, strict JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from flint_bench import runner
from flint_bench.core.contract import ContractError, merge_device_result, validate
from flint_bench.core.records import Record
from flint_bench.core.stats import summarize
from flint_bench.farms.base import BenchJob, Device, Farm, RunSettings, new_record


def strict_json(text: str):
    def refuse(literal: str):
        raise AssertionError(f"{literal} in JSON")

    return json.loads(text, parse_constant=refuse)


NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    ("section", "key", "value", "where"),
    [
        ("timing", "step_seconds", [[0.02, NAN]], "timing/step_seconds/0/1"),
        ("timing", "step_seconds", [[0.02, -0.5]], "timing/step_seconds/0/1"),
        ("timing", "load_seconds", INF, "timing/load_seconds"),
        ("timing", "load_seconds", -1.0, "timing/load_seconds"),
        ("timing", "seconds_per_5000", {"mean": -INF, "std": 0.0, "values": [1.0]}, "timing/seconds_per_5000/mean"),
        ("memory", "peak_mb", NAN, "memory/peak_mb"),
        ("memory", "peak_delta_mb", -5.0, "memory/peak_delta_mb"),
        ("cpu", "mean_percent", -3.0, "cpu/mean_percent"),
        ("loss", "first", NAN, "loss/first"),
        ("network", "total_bytes", 2**64, "network/total_bytes"),
        ("model", "storage_bytes", 10**400, "model/storage_bytes"),
    ],
)
def test_non_finite_or_negative_figures_break_the_contract(toy, section, key, value, where):
    result = toy.record()
    validate("result", result)
    result[section][key] = value
    with pytest.raises(ContractError, match=where):
        merge_device_result(new_record("r1", toy.model, Device("phone", "toy"), RunSettings(), toy.manifest), result)


def test_a_negative_per_example_summary_breaks_the_contract(toy):
    result = toy.record()
    result["timing"]["per_example_seconds"]["p99"] = -0.1
    with pytest.raises(ContractError, match="per_example_seconds/p99"):
        validate("result", result)


def test_a_summary_of_nothing_is_null_not_nan():
    empty = summarize([])
    assert empty["n"] == 0 and all(v is None for k, v in empty.items() if k != "n")


class NaNFarm(Farm):
    """A backend with a bug: its second device reports a NaN load time as ok."""

    kind = "nan"
    settings_class = dict

    def __init__(self, measured: Callable[[str], Record]):
        super().__init__("nan", {})
        self.measured = measured

    def devices(self) -> list[Device]:
        return [Device("good", self.name), Device("bad", self.name)]

    def run(self, device: Device, job: BenchJob):
        record = self.measured(device.id, job.run_id)
        if device.id == "bad":
            record["timing"]["load_seconds"] = NAN
        return record


def fake_export(monkeypatch, tmp_path: Path, manifest) -> None:
    artifacts = SimpleNamespace(manifests={"executorch-training": manifest}, export_seconds=0.0, folder=tmp_path)
    monkeypatch.setattr(runner, "export_model", lambda model, cache_dir: artifacts)
    monkeypatch.setattr(runner, "training_data", lambda model, settings, folder: tmp_path / "data.npz")


def test_a_nan_timing_becomes_an_invalid_result_record_in_strict_json(toy, tmp_path, monkeypatch):
    fake_export(monkeypatch, tmp_path, toy.manifest)
    out = tmp_path / "out"
    outcome = runner.run_benchmarks(NaNFarm(toy.record), [toy.model], RunSettings(), out)
    by_device = {r["device"]["id"]: r for r in outcome.records}
    assert by_device["good"]["status"] == "ok"
    assert by_device["bad"]["status"] == "failed" and by_device["bad"]["error"]["kind"] == "invalid-result"
    assert "timing/load_seconds" in by_device["bad"]["error"]["message"]
    on_disk = strict_json((out / "toy__bad.json").read_text())
    validate("result", on_disk)
    assert on_disk["error"]["kind"] == "invalid-result" and on_disk["timing"]["load_seconds"] is None
