"""The one small interface every farm implements, and the job/device records it exchanges."""

from __future__ import annotations

import abc
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch

from ..core.contract import SCHEMA_VERSION, blank_record
from ..export import Artifacts
from ..zoo import ModelDef


@dataclass
class Device:
    id: str
    farm: str
    manufacturer: str | None = None
    model: str | None = None
    soc: str | None = None
    os: str | None = None
    os_version: str | None = None
    abi: str | None = None
    cores: int | None = None
    memory_mb: float | None = None
    emulator: bool | None = None
    device_class: str | None = None
    handle: dict[str, Any] = field(default_factory=dict, repr=False)  # backend-private (threads, serial, ...)

    def as_record(self) -> dict:
        return {k: v for k, v in dataclasses.asdict(self).items() if k != "handle"}


@dataclass
class RunSettings:
    """[run] table of a farm config; the CLI flags override it."""

    examples: int = 5000
    repeats: int = 3
    warmup_steps: int = 5
    epochs: int = 1
    batch_size: int | None = None  # None: the model's own
    seed: int = 0
    timeout_s: float = 900.0
    cooldown_s: float = 0.0
    max_parallel_devices: int = 4

    def benchmark_section(self, model: ModelDef) -> dict:
        """The record's `benchmark` section: what was asked of the device."""
        return {
            "examples": self.examples,
            "batch_size": self.batch_size or model.batch_size,
            "epochs": self.epochs,
            "warmup_steps": self.warmup_steps,
            "repeats": self.repeats,
            "seed": self.seed,
            "learning_rate": model.lr,
        }

    def validate(self, file: str, prefix: str) -> None:
        from ..core.errors import ConfigError

        for key in ("examples", "repeats", "epochs", "max_parallel_devices"):
            if getattr(self, key) < 1:
                raise ConfigError(file, prefix + key, f"must be at least 1, got {getattr(self, key)}")
        if self.batch_size is not None and self.batch_size < 1:
            raise ConfigError(file, prefix + "batch_size", "must be at least 1")
        if self.timeout_s <= 0:
            raise ConfigError(file, prefix + "timeout_s", "must be positive")


@dataclass
class BenchJob:
    """One model to benchmark on one device: everything a farm needs to build the spec."""

    run_id: str
    model: ModelDef
    artifacts: Artifacts
    data_file: Path  # .npz with input_0..input_k (features then labels)
    settings: RunSettings

    @property
    def batch_size(self) -> int:
        return self.settings.batch_size or self.model.batch_size

    @property
    def training_artifact(self) -> Path:
        return self.artifacts.path("executorch-training")

    def spec(
        self, artifact: str, data_file: str | None, inference_artifact: str | None = None, threads: int | None = None
    ) -> dict:
        """The benchmark spec (spec.schema.json) with paths as the device will see them."""
        batch = self.model.example_batch(self.batch_size)
        inputs = []
        for i, t in enumerate(batch):
            item = {"name": f"input_{i}", "dtype": "int64" if t.dtype == torch.int64 else "float32", "shape": list(t.shape)}
            if t.numel():
                item |= {"low": float(t.min()), "high": float(t.max())}
            inputs.append(item)
        m = self.artifacts.manifests["executorch-training"]
        return {
            "schema_version": SCHEMA_VERSION,
            "run_id": self.run_id,
            "model": {
                "name": self.model.name,
                "format": "executorch-training",
                "artifact": artifact,
                "sha256": m.sha256,
                "method": "forward",
                "inference_artifact": inference_artifact,
            },
            "data": {"file": data_file, "features": self.model.n_features, "inputs": inputs},
            "examples": self.settings.examples,
            "batch_size": self.batch_size,
            "epochs": self.settings.epochs,
            "warmup_steps": self.settings.warmup_steps,
            "repeats": self.settings.repeats,
            "seed": self.settings.seed,
            "learning_rate": self.model.lr,
            "threads": threads,
        }

    def blank_record(self, device: Device) -> dict:
        m = self.artifacts.manifests["executorch-training"]
        model = {
            "name": self.model.name,
            "description": self.model.description,
            "format": m.format,
            "artifact_sha256": m.sha256,
            "trainable_params": m.trainable_params,
            "total_params": m.total_params,
            "storage_bytes": m.bytes,
            "update_bytes": m.update_bytes,
            "task": m.task,
        }
        record = blank_record(self.run_id, model, device.as_record(), self.settings.benchmark_section(self.model))
        # a client downloads the training program and uploads its update once per task
        record["network"] = {"download_bytes": m.bytes, "upload_bytes": m.update_bytes, "total_bytes": m.bytes + m.update_bytes}
        return record


@dataclass
class Check:
    """One line of `farm doctor`: what was checked, whether it is fine, and how to fix it if not."""

    name: str
    ok: bool
    message: str


class DeviceLost(Exception):
    """The device went away mid-run (unplugged, session closed); the runner records it and moves on."""


class Farm(abc.ABC):
    kind: ClassVar[str]
    settings_class: ClassVar[type]  # dataclass parsed from the farm file's [<kind>] table
    parallel: ClassVar[bool] = True  # False when devices share one machine's CPU (local)

    def __init__(self, name: str, settings: Any, config_path: Path | None = None):
        self.name, self.settings, self.config_path = name, settings, config_path

    @abc.abstractmethod
    def devices(self) -> list[Device]:
        """The devices this farm offers after selection."""

    @abc.abstractmethod
    def run(self, device: Device, job: BenchJob) -> dict:
        """Benchmark one model on one device; return a contract-valid result record (ok or failed)."""

    def plan(self, pending: dict[str, list[Device]]) -> None:
        """Called once before the runs: the devices each model will run on (after --resume).
        Farms that schedule one batch per model (AWS Device Farm) book only these."""

    def doctor(self) -> list[Check]:
        return [Check("devices", bool(self.devices()), "at least one device is available")]

    def close(self) -> None:
        pass
