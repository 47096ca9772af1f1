"""The result record: one model benchmarked on one device (device_apps/contract/result.schema.json).

The typed view below follows the schema section by section, so a reader of records (results,
profiles, gate, report, runner) is checked by mypy against the contract; the functions after it are
the one place each derived figure of a record is computed.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
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
    cpu_cap: NotRequired[str | None]  # how a local class's CPU cap was enforced (cgroup or duty cycling)


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
    mean_percent: float | None  # % of one core (100 = one core busy), as sampled
    max_percent: float | None
    samples: int
    method: str
    # schema 2: the same as a share of the whole device (all cores = 100), the paper's Table 5 meaning
    device_mean_percent: NotRequired[float | None]
    device_max_percent: NotRequired[float | None]
    cores: NotRequired[int | None]  # the core count the device share divides by


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
    # schema 1 meaning, kept: the training program's download + the update's upload
    download_bytes: int | None
    upload_bytes: int | None
    total_bytes: int | None
    # schema 2: one FL task moves the trainable weights down and the update up (2 x M, the paper's
    # Table 5 network); the program is downloaded once, not per task
    program_bytes: NotRequired[int | None]
    task_download_bytes: NotRequired[int | None]
    task_upload_bytes: NotRequired[int | None]
    task_total_bytes: NotRequired[int | None]


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


def bytes_mb(n: int | None) -> float | None:
    """Bytes in MB; an integer too large for a float (a hostile record) is infinite, which every
    reader takes as unknown, rather than an OverflowError."""
    if n is None:
        return None
    try:
        return n / MB
    except OverflowError:
        return math.inf


def storage_mb(record: Record) -> float | None:
    """Size of the training program the device stores (Table 5 'storage')."""
    return bytes_mb(record["model"]["storage_bytes"])


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


FLOAT32_BYTES = 4


def trainable_bytes(model: ModelSection) -> int | None:
    """M: the trainable weights as float32 (the update a client uploads is the same size)."""
    if model["update_bytes"] is not None:
        return model["update_bytes"]
    return model["trainable_params"] * FLOAT32_BYTES if model["trainable_params"] is not None else None


def task_network(model: ModelSection) -> tuple[int | None, int | None, int | None]:
    """(download, upload, total) bytes of one FL task: the trainable weights down, the update up (2 x M)."""
    m = trainable_bytes(model)
    return (m, m, 2 * m) if m is not None else (None, None, None)


def device_share(percent: float | None, cores: int | None) -> float | None:
    """CPU % of one core as % of the whole device (all cores = 100); None when the core count is unknown."""
    if percent is None or not cores:
        return None
    try:
        return percent / cores
    except OverflowError:  # a core count no float holds (a hostile record): unknown
        return None


def record_cores(record: Record) -> int | None:
    """The device's core count: its `device.cores`, else the host's CPU count (local farm `machine`)."""
    machine = record.get("machine")
    return record["device"]["cores"] or (machine["cpus"] if machine else None) or None


def fill_derived(record: Record) -> Record:
    """Set schema 2's derived fields from their sources, for a producer that left them out and for a
    version-1 record that never had them: CPU as a device share (per-core % / core count; None
    without a core count), the per-task network (from the model's trainable size) and the program
    download (the storage size). Always recomputed, so a record edited after it was built never
    carries a stale share."""
    cpu = record["cpu"]
    cpu["cores"] = cores = cpu.get("cores") or record_cores(record)
    cpu["device_mean_percent"] = device_share(cpu["mean_percent"], cores)
    cpu["device_max_percent"] = device_share(cpu["max_percent"], cores)
    network = record["network"]
    network["task_download_bytes"], network["task_upload_bytes"], network["task_total_bytes"] = task_network(record["model"])
    network["program_bytes"] = record["model"]["storage_bytes"]
    return record


def cpu_device_percent(record: Record) -> float | None:
    """Mean CPU as a share of the device, all cores = 100 (Table 5's CPU, the budgets' figure)."""
    cpu = record["cpu"]
    return device_share(cpu["mean_percent"], cpu.get("cores") or record_cores(record))


def task_network_bytes(record: Record) -> int | None:
    """Bytes one FL task moves: 2 x M (Table 5's network)."""
    return task_network(record["model"])[2]


def _stdev(values: list[float]) -> float | None:
    """Sample stdev; None with fewer than two values (the spread of one value is unknown, not 0)."""
    return _stat(statistics.stdev, values) if len(values) > 1 else None


def _stat(fn: Any, values: list[float]) -> float | None:
    """`fn(values)`, None when the values overflow a float (1e308-sized times of a hostile record)."""
    try:
        result = float(fn(values))
    except (OverflowError, ValueError):
        return None
    return result if math.isfinite(result) else None


def spread_s_per_5000(records: list[Record]) -> tuple[float | None, float | None, float | None]:
    """(mean, stdev across repeats, stdev across devices) of seconds per 5,000 examples over the ok
    records. Across repeats: each device's stdev over its own repeats, averaged over the devices
    (the run-to-run noise of one device). Across devices: the stdev of the devices' means (the
    paper's Table 5 stdev, over its 27 devices). Several records of one device are one device.
    A figure that overflows is None (unknown)."""
    by_device: dict[str, list[float]] = defaultdict(list)
    for r in records:
        s5 = r["timing"].get("seconds_per_5000")
        if r["status"] == "ok" and s5:
            by_device[r["device"]["id"]] += [v for v in s5["values"] if math.isfinite(v)]
    values = [v for v in by_device.values() if v]
    if not values:
        return None, None, None
    repeat_stds = [s for v in values if (s := _stdev(v)) is not None]
    means = [m for v in values if (m := _stat(statistics.fmean, v)) is not None]
    if len(means) < len(values):
        return None, _stat(statistics.fmean, repeat_stds) if repeat_stds else None, None
    return _stat(statistics.fmean, means), _stat(statistics.fmean, repeat_stds) if repeat_stds else None, _stdev(means)
