"""Builders of the record sections a host measures (CPU, memory, conditions), shared by every farm
that samples a benchmark itself (local, adb, appium), so each figure is computed one way."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..core.records import ConditionsSection, CpuSection, MachineSection, MemorySection, device_share
from ..core.stats import finite


def cpu_section(samples: Sequence[float], method: str, mean: float | None, cores: int | None = None) -> CpuSection:
    """CPU % of the app process (100 = one core): `mean` as the farm measured it, max over `samples`;
    with the device's core count, also as a share of the device (all cores = 100). Without it the
    shares are None here and `results.save_record` derives them from the record's device.cores
    (`records.fill_derived`)."""
    peak = max(samples, default=mean)
    return {
        "mean_percent": mean,
        "max_percent": peak,
        "samples": len(samples),
        "method": method,
        "device_mean_percent": device_share(mean, cores),
        "device_max_percent": device_share(peak, cores),
        "cores": cores,
    }


def sampled_cpu_section(samples: Sequence[float], method: str, cores: int | None = None) -> CpuSection:
    """CPU % where the mean is the mean of the periodic samples (at least one)."""
    return cpu_section(samples, method, sum(samples) / len(samples), cores)


def memory_section(peak_mb: float, method: str) -> MemorySection:
    """The peak the host sampled; the baseline comes later, from a reading that is comparable."""
    return {"peak_mb": peak_mb, "baseline_mb": None, "peak_delta_mb": None, "method": method}


def set_baseline(memory: MemorySection, baseline_mb: float | None) -> None:
    """Peak minus the reading just before the model was loaded, when both are known."""
    if baseline_mb is not None and memory["peak_mb"] is not None:
        memory["baseline_mb"] = baseline_mb
        memory["peak_delta_mb"] = max(0.0, memory["peak_mb"] - baseline_mb)


def combine_memory(memory: MemorySection, app: Mapping[str, Any]) -> None:
    """Fold in the app's own memory figures when it measured PSS (the Android app's Debug.getPss):
    its peak where higher than ours, and its baseline, comparable with our PSS samples. An RSS
    baseline (the reference worker) is not comparable and is left out."""
    if not str(app.get("method", "")).startswith("pss"):
        return
    app_peak = app.get("peak_mb")
    if app_peak is not None and (memory["peak_mb"] is None or app_peak > memory["peak_mb"]):
        memory["peak_mb"] = app_peak
        memory["method"] += "; the app's own PSS peak where higher"
    set_baseline(memory, app.get("baseline_mb"))


def conditions_section(
    *,
    battery_percent: float | None,
    charging: bool | None,
    cooldown_seconds: float | None = None,
    thermal_state: str | None = None,
    temperature_c: float | None = None,
) -> ConditionsSection:
    """The device's state just before the benchmark."""
    return {
        "battery_percent": battery_percent,
        "charging": charging,
        "thermal_state": thermal_state,
        "cooldown_seconds": cooldown_seconds,
        "temperature_c": temperature_c,
    }


def _share(cpu_seconds: float | None, wall_seconds: float, cpus: int) -> float | None:
    """CPU-seconds as a share of the machine over the wall time; clamped to [0, 1] because the
    worker's and the machine's clocks tick separately (10 ms), so a quiet machine can read -0.01."""
    share = finite(cpu_seconds / (wall_seconds * cpus)) if cpu_seconds is not None and wall_seconds > 0 else None
    return None if share is None else min(1.0, max(0.0, share))


def machine_section(
    *,
    busy_seconds: float | None,
    own_cpu_seconds: float,
    steal_seconds: float | None,
    wall_seconds: float,
    load_1min: tuple[float, float] | None,
    cpus: int,
    cpu_freq_mhz: float | None,
) -> MachineSection:
    """The machine's state over the training phase: what other processes took beside the worker."""
    others = None if busy_seconds is None else busy_seconds - own_cpu_seconds
    return {
        "load_1min_start": finite(load_1min[0]) if load_1min else None,
        "load_1min_end": finite(load_1min[1]) if load_1min else None,
        "others_cpu_share": _share(others, wall_seconds, cpus),
        "steal_share": _share(steal_seconds, wall_seconds, cpus),
        "cpus": cpus,
        "cpu_freq_mhz": finite(cpu_freq_mhz) if cpu_freq_mhz and cpu_freq_mhz > 0 else None,
        "method": "psutil over the training phase: others = (machine busy CPU time - the worker's) / (wall time x CPUs); "
        "steal likewise; load average at its start and end",
    }
