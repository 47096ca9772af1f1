"""The result record: one model benchmarked on one device (device_apps/contract/result.schema.json).

The typed view below follows the schema section by section, so a reader of records (results,
profiles, gate, report, runner) is checked by mypy against the contract; the functions after it are
the one place each derived figure of a record is computed.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

from .units import MB


class ErrorSection(TypedDict):
    kind: str
    message: str


class ModelSection(TypedDict):
    name: str
    format: str
    artifact_sha256: str | None
    trainable_params: int | None
    total_params: int | None
    storage_bytes: int | None
    update_bytes: int | None
    task: str | None
    description: NotRequired[str | None]


class DeviceSection(TypedDict):
    id: str
    farm: str
    manufacturer: str | None
    model: str | None
    soc: str | None
    os: str | None
    os_version: str | None
    abi: str | None
    cores: int | None
    memory_mb: float | None
    emulator: bool | None
    device_class: NotRequired[str | None]
    platform: NotRequired[str | None]  # the phone platform a device stands for (a local class: Android)
    tier: NotRequired[str | None]  # low | mid | high: the hardware tier it stands for


class RuntimeSection(TypedDict):
    name: str
    version: str | None
    threads: int | None


class ConditionsSection(TypedDict):
    battery_percent: float | None
    charging: bool | None
    thermal_state: str | None
    cooldown_seconds: float | None
    temperature_c: NotRequired[float | None]


class BenchmarkSection(TypedDict):
    examples: int
    batch_size: int
    epochs: int
    warmup_steps: int
    repeats: int
    seed: int
    learning_rate: NotRequired[float | None]


class Summary(TypedDict, total=False):
    """stats.summarize of a list of samples."""

    n: int
    mean: float | None
    std: float | None
    min: float | None
    max: float | None
    p50: float | None
    p90: float | None
    p99: float | None
    trimmed_mean: float | None
    cv: float | None


class Per5000(TypedDict):
    mean: float | None
    std: float | None
    values: list[float]


class TimingSection(TypedDict):
    step_seconds: list[list[float]]
    step_examples: list[list[int]]
    per_example_seconds: Summary | None
    seconds_per_5000: Per5000 | None
    load_seconds: float | None
    inference_ms: NotRequired[Summary | None]
    inference_runtime: NotRequired[str | None]


class LossSection(TypedDict, total=False):
    first: float | None
    last: float | None


class CpuSection(TypedDict):
    mean_percent: float | None
    max_percent: float | None
    samples: int
    method: str


class MemorySection(TypedDict):
    peak_mb: float | None
    baseline_mb: float | None
    peak_delta_mb: float | None
    method: str


class MachineSection(TypedDict):
    """The host machine's state while the model trained (local farm): what else ran beside it."""

    load_1min_start: float | None
    load_1min_end: float | None
    others_cpu_share: float | None  # CPU other processes took, as a share of the machine (1 = every core)
    steal_share: float | None  # CPU the hypervisor gave to other guests, same scale
    cpus: int | None
    cpu_freq_mhz: float | None
    method: str


class StabilitySection(TypedDict):
    """How steady the per-step times were (ExecuTorch's stability analysis); score 1 = perfectly steady."""

    n: int | None
    cv: float | None
    iqr_over_median: float | None
    p99_over_p50: float | None
    score: float | None


class EnergySection(TypedDict):
    """Energy of the training phase where the device exposes it; joules None with the reason in method otherwise."""

    joules: float | None
    mah: NotRequired[float | None]
    method: str
    detail: NotRequired[str | None]


class SustainedWindow(TypedDict):
    t_s: float | None
    examples_per_s: float | None
    thermal_status: NotRequired[int | None]


class SustainedSection(TypedDict):
    """A train-for-N-minutes run: throughput per window; first/last window ratio > 1 means it slowed (heat)."""

    minutes: float | None
    windows: list[SustainedWindow]
    first_last_ratio: float | None
    thermal_max: NotRequired[int | None]
    method: NotRequired[str | None]


class NetworkSection(TypedDict):
    download_bytes: int | None
    upload_bytes: int | None
    total_bytes: int | None


class Timestamps(TypedDict):
    started: str
    finished: str


class HostSection(TypedDict):
    commit: str | None
    flint_bench_version: str
    hostname: NotRequired[str | None]


class Record(TypedDict):
    schema_version: str
    run_id: str
    status: Literal["ok", "failed"]
    error: ErrorSection | None
    model: ModelSection
    device: DeviceSection
    runtime: RuntimeSection
    conditions: ConditionsSection
    benchmark: BenchmarkSection
    timing: TimingSection
    loss: NotRequired[LossSection | None]
    cpu: CpuSection
    memory: MemorySection
    machine: NotRequired[MachineSection | None]
    stability: NotRequired[StabilitySection | None]
    energy: NotRequired[EnergySection | None]
    sustained: NotRequired[SustainedSection | None]
    network: NetworkSection
    timestamps: Timestamps
    host: HostSection
    extra: NotRequired[dict[str, Any]]


class RecordError(ValueError):
    """A record whose sections disagree with each other (e.g. timing lists of different lengths)."""


def record_source(record: Record) -> str:
    """Where a record came from, for messages: its file when read from disk."""
    return str(record.get("extra", {}).get("path", "a result record"))


def per_repeat_samples(record: Record) -> list[list[float]]:
    """Per-example training seconds per repeat: step_seconds[i] / step_examples[i], steps with
    examples only. Lists of different lengths are a RecordError, never silently truncated."""
    timing = record["timing"]
    if len(timing["step_seconds"]) != len(timing["step_examples"]):
        raise RecordError(
            f"{record_source(record)}: timing.step_seconds has {len(timing['step_seconds'])} repeats, "
            f"timing.step_examples {len(timing['step_examples'])}."
        )
    repeats = []
    for i, (secs, exs) in enumerate(zip(timing["step_seconds"], timing["step_examples"], strict=True)):
        if len(secs) != len(exs):
            raise RecordError(
                f"{record_source(record)}: repeat {i} has {len(secs)} step times and {len(exs)} step example counts."
            )
        repeats.append([s / e for s, e in zip(secs, exs, strict=True) if e > 0])
    return repeats


def per_example_samples(record: Record) -> list[float]:
    """Every repeat's per-example training seconds in one list."""
    return [x for rep in per_repeat_samples(record) for x in rep]


def storage_mb(record: Record) -> float | None:
    """Size of the training program the device stores (Table 5 'storage')."""
    b = record["model"]["storage_bytes"]
    return b / MB if b is not None else None


def seconds_per_5000(record: Record) -> float | None:
    """Mean seconds to train 5,000 examples on the device (Table 5, Figure 4)."""
    s5 = record["timing"]["seconds_per_5000"]
    return s5["mean"] if s5 else None


def training_memory_mb(record: Record) -> float | None:
    """The memory the training adds: peak above the process baseline (Table 5's figure). Without a
    baseline, the whole-process peak: it over-states the training's share, so a budget on it can
    block a device wrongly but never let one through wrongly."""
    memory = record["memory"]
    return memory["peak_delta_mb"] if memory["peak_delta_mb"] is not None else memory["peak_mb"]
