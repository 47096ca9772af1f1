"""A toy model, its manifest and a measured, contract-valid record of it, without exporting anything
(shared by the core and farms tests; imported as a top-level module, like records_synth)."""

from __future__ import annotations

from types import SimpleNamespace

from flint_bench.core.records import Record
from flint_bench.core.stats import summarize
from flint_bench.farms.base import Device, RunSettings, new_record

TOY_MODEL = SimpleNamespace(
    name="toy", description="a toy", batch_size=8, lr=0.1, task="binary", trainable_params=10, total_params=12, update_bytes=40
)
TOY_MANIFEST = SimpleNamespace(
    format="executorch-training",
    sha256="ab" * 32,
    trainable_params=10,
    total_params=12,
    bytes=1000,
    update_bytes=40,
    task="binary",
)


def measured_record(device_id: str = "phone", run_id: str = "r1") -> Record:
    """A valid ok result as a device sends it."""
    record = new_record(run_id, TOY_MODEL, Device(device_id, "toy"), RunSettings(), TOY_MANIFEST)  # type: ignore[arg-type]
    record["status"] = "ok"
    record["timing"] = {
        "step_seconds": [[0.02, 0.03]],
        "step_examples": [[8, 8]],
        "per_example_seconds": summarize([0.0025, 0.00375]),
        "seconds_per_5000": {"mean": 15.6, "std": 0.0, "values": [15.6]},
        "load_seconds": 0.1,
    }
    record["cpu"] = {"mean_percent": 90.0, "max_percent": 100.0, "samples": 3, "method": "app"}
    record["memory"] = {"peak_mb": 50.0, "baseline_mb": 40.0, "peak_delta_mb": 10.0, "method": "app"}
    record["loss"] = {"first": 0.7, "last": 0.5}
    return record
