"""The one small interface every farm implements, and the job/device records it exchanges.

A farm benchmarks one model on a batch of devices (`run_many`) and yields each device's record as
soon as that device finishes, so the runner saves it at once. This module imports nothing heavy:
torch, the zoo and the exporter are only needed once a job is built.
"""

from __future__ import annotations

import abc
import dataclasses
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Self, cast

from ..core.config import Annotated, Ge, Gt, Interval, Le
from ..core.contract import SCHEMA_VERSION, FailureKind, blank_record, fail
from ..core.errors import ConfigError
from ..core.records import BenchmarkSection, DeviceSection, ModelSection, Record
from ..core.stability import record_stability
from ..core.text import DEVICE_TEXT_LIMIT, MESSAGE_LIMIT, Redactor, terminal_safe

if TYPE_CHECKING:
    from ..export import Artifacts, Manifest
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
    # the phone a device stands for, when it is not one itself (a local farm's class): platform
    # (Android, iOS) and hardware tier (low, mid, high); the device mapping matches on them
    platform: str | None = None
    tier: str | None = None
    handle: dict[str, Any] = field(default_factory=dict, repr=False)  # backend-private (threads, serial, ...)

    def __post_init__(self) -> None:
        # attributes come from the device (getprop, a hub's answer): never let them drive a terminal
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, str):
                setattr(self, f.name, terminal_safe(value))

    def as_record(self) -> DeviceSection:
        return cast(DeviceSection, {k: v for k, v in dataclasses.asdict(self).items() if k != "handle"})


MAX_EXAMPLES = 10_000_000  # far above any on-device training set; bounds the data file the host writes


@dataclass
class RunSettings:
    """[run] table of a farm config; the CLI flags override it."""

    examples: Annotated[int, Interval(ge=1, le=MAX_EXAMPLES)] = 5000
    repeats: Annotated[int, Interval(ge=1, le=1000)] = 3
    warmup_steps: Annotated[int, Interval(ge=0, le=1_000_000)] = 5
    epochs: Annotated[int, Interval(ge=1, le=10_000)] = 1
    batch_size: Annotated[int, Interval(ge=1, le=MAX_EXAMPLES)] | None = None  # None: the model's own
    seed: Annotated[int, Interval(ge=0, le=2**32 - 1)] = 0  # numpy and torch seeds are 32-bit
    timeout_s: Annotated[float, Gt(0), Le(7 * 86400)] = 900.0
    cooldown_s: Annotated[float, Ge(0), Le(86400)] = 0.0  # rest between two benchmarks on one device
    max_parallel_devices: Annotated[int, Interval(ge=1, le=1024)] = 4
    # after the timed repeats, keep training this long and record throughput over time (heat); None: no
    sustained_minutes: Annotated[float, Gt(0), Le(24 * 60)] | None = None

    def validate(self, file: str, prefix: str) -> None:
        if self.batch_size is not None and self.batch_size > self.examples:
            raise ConfigError(
                file,
                f"{prefix}batch_size",
                f"{self.batch_size} is larger than examples = {self.examples}: a step trains on a whole batch, "
                "so lower batch_size or raise examples",
            )

    def benchmark_section(self, model: ModelDef) -> BenchmarkSection:
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


def model_section(model: ModelDef, manifest: Manifest | None) -> ModelSection:
    """The record's `model` section: from the exported training program's manifest, or (the export
    failed) from what the model itself knows."""
    return {
        "name": model.name,
        "description": model.description,
        "format": manifest.format if manifest else "executorch-training",
        "artifact_sha256": manifest.sha256 if manifest else None,
        "trainable_params": manifest.trainable_params if manifest else model.trainable_params,
        "total_params": manifest.total_params if manifest else model.total_params,
        "storage_bytes": manifest.bytes if manifest else None,
        "update_bytes": manifest.update_bytes if manifest else model.update_bytes,
        "task": manifest.task if manifest else model.task,
    }


def new_record(run_id: str, model: ModelDef, device: Device, settings: RunSettings, manifest: Manifest | None) -> Record:
    """The blank record of one model on one device, before anything is measured."""
    record = blank_record(run_id, model_section(model, manifest), device.as_record(), settings.benchmark_section(model))
    if manifest is not None:
        # a client downloads the training program and uploads its update once per task
        record["network"] = {
            "download_bytes": manifest.bytes,
            "upload_bytes": manifest.update_bytes,
            "total_bytes": manifest.bytes + manifest.update_bytes,
        }
    return record


@dataclass
class BenchJob:
    """One model to benchmark on a farm's devices: everything a farm needs to build the spec."""

    run_id: str
    model: ModelDef
    artifacts: Artifacts
    data_file: Path  # .npz with input_0..input_k (features then labels)
    settings: RunSettings

    @property
    def batch_size(self) -> int:
        return self.settings.batch_size or self.model.batch_size

    @property
    def manifest(self) -> Manifest:
        return self.artifacts.manifests["executorch-training"]

    @property
    def training_artifact(self) -> Path:
        return self.artifacts.path("executorch-training")

    def spec(
        self, artifact: str, data_file: str | None, inference_artifact: str | None = None, threads: int | None = None
    ) -> dict[str, Any]:
        """The benchmark spec (spec.schema.json) with paths as the device will see them."""
        return {
            "schema_version": SCHEMA_VERSION,
            "run_id": self.run_id,
            "model": {
                "name": self.model.name,
                "format": "executorch-training",
                "artifact": artifact,
                "sha256": self.manifest.sha256,
                "method": "forward",
                "inference_artifact": inference_artifact,
            },
            "data": {
                "file": data_file,
                "features": self.model.n_features,
                "inputs": self.model.input_description(self.batch_size),
            },
            "examples": self.settings.examples,
            "batch_size": self.batch_size,
            "epochs": self.settings.epochs,
            "warmup_steps": self.settings.warmup_steps,
            "repeats": self.settings.repeats,
            "seed": self.settings.seed,
            "learning_rate": self.model.lr,
            "threads": threads,
        }

    def blank_record(self, device: Device) -> Record:
        return new_record(self.run_id, self.model, device, self.settings, self.manifest)


@dataclass
class Check:
    """One line of `farm doctor`: what was checked, whether it is fine, and how to fix it if not."""

    name: str
    ok: bool | None  # None: could not be told (e.g. the phone reports no battery or thermal state)
    message: str

    def __post_init__(self) -> None:
        # names and messages quote devices and servers (adb errors, hub answers)
        self.name = terminal_safe(self.name, DEVICE_TEXT_LIMIT)
        self.message = terminal_safe(self.message, MESSAGE_LIMIT)

    @property
    def failed(self) -> bool:
        return self.ok is False


class DeviceLost(Exception):
    """The device went away mid-run (unplugged, session closed); its record says so and the others go on."""


def failure_record(job: BenchJob, device: Device, error: Exception) -> Record:
    """The record of a device whose benchmark raised: a lost device, or a harness bug that must not
    take the other devices' results with it."""
    if isinstance(error, DeviceLost):
        return fail(job.blank_record(device), FailureKind.DISCONNECTED, f"device {device.id} went away: {error}")
    return fail(job.blank_record(device), FailureKind.HARNESS, f"{type(error).__name__}: {error}")


def clean_record(record: Record, redact: Redactor) -> Record:
    """`record` with no secret in any field. Its text is already terminal-safe: device attributes are
    cleaned by `Device`, error messages by `contract.fail` and `contract.merge_device_result`."""
    return cast(Record, redact.tree(record))


class Farm(abc.ABC):
    """A set of devices. Use as a context manager: leaving it releases what the farm started."""

    kind: ClassVar[str]
    settings_class: ClassVar[type]  # dataclass parsed from the farm file's [<kind>] table
    parallel: ClassVar[bool] = True  # False when devices share one machine's CPU (local)

    def __init__(self, name: str, settings: Any, config_path: Path | None = None):
        self.name, self.settings, self.config_path = name, settings, config_path
        self._last_finished: dict[str, float] = {}  # device id -> monotonic time its last benchmark ended
        self._rest_lock = threading.Lock()

    @abc.abstractmethod
    def devices(self) -> list[Device]:
        """The devices this farm offers after selection."""

    @abc.abstractmethod
    def run(self, device: Device, job: BenchJob) -> Record:
        """Benchmark one model on one device; return a contract-valid result record (ok or failed)."""

    def redactor(self) -> Redactor:
        """The farm's secrets (credentials), removed in every form from what its records carry."""
        return Redactor()

    def run_many(self, job: BenchJob, devices: Sequence[Device]) -> Iterator[Record]:
        """Benchmark one model on `devices`, yielding each device's record as soon as it is done;
        every record leaves with its device text terminal-safe, the farm's secrets redacted, and
        (where it carries per-step times) its stability section."""
        redact = self.redactor()
        for record in self._run_many(job, devices):
            if record["status"] == "ok" and record.get("stability") is None:
                record["stability"] = record_stability(record)
            yield clean_record(record, redact)

    def _run_many(self, job: BenchJob, devices: Sequence[Device]) -> Iterator[Record]:
        """This default calls `run` per device: `max_parallel_devices` at a time when the farm is
        parallel, else one after another. A device that raises gets a failure record; the others finish."""
        workers = min(len(devices), job.settings.max_parallel_devices) if self.parallel else 1
        if workers <= 1:
            for device in devices:
                yield self._run_one(device, job)
            return
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for future in as_completed([pool.submit(self._run_one, device, job) for device in devices]):
                yield future.result()

    def _run_one(self, device: Device, job: BenchJob) -> Record:
        self._rest(device, job.settings.cooldown_s)
        try:
            return self.run(device, job)
        except Exception as e:  # one device's failure must never take the others' results with it
            return failure_record(job, device, e)
        finally:
            with self._rest_lock:
                self._last_finished[self._rest_key(device)] = time.monotonic()

    def _rest_key(self, device: Device) -> str:
        # devices of a farm that is not parallel share one machine: it is the machine that rests
        return device.id if self.parallel else ""

    def _rest(self, device: Device, cooldown_s: float) -> None:
        """Wait until the device has rested `cooldown_s` since its previous benchmark."""
        with self._rest_lock:
            last = self._last_finished.get(self._rest_key(device))
        if last is not None and cooldown_s:
            time.sleep(max(0.0, last + cooldown_s - time.monotonic()))

    def doctor(self) -> list[Check]:
        return [Check("devices", bool(self.devices()), "at least one device is available")]

    def close(self) -> None:  # noqa: B027 - a farm that starts nothing has nothing to release
        """Release what the farm started (sessions, processes, cloud runs); safe to call twice."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None) -> None:
        self.close()
