"""The paper's Table 5 per model from result records, with the paper's meanings. Pure: records in,
typed rows out.

- network: one FL task's bytes, the trainable weights down and the update up (2 x M, as the
  simulator uses); the training program's one-time download is its own column;
- CPU: a share of the device (all cores = 100), as the paper's 1.6-6.4%; % of one core beside it;
- stdev: across devices (the paper's, over its 27 devices) and across repeats on one device, each
  labelled. The README's "Table 5 columns" defines every column.

The columns are declared once, in `FIELDS`: the run command's summary table, its JSON and the
report's Table 5 all take their keys, headers and units from it, so a column added or renamed here
is added or renamed everywhere.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.records import (
    Record,
    bytes_mb,
    cpu_device_percent,
    seconds_per_5000,
    spread_s_per_5000,
    storage_mb,
    task_network_bytes,
)
from ..core.stats import finite


def human_params(n: int | None) -> str:
    if n is None:
        return "-"
    return f"{n / 1000:.2f}k" if n < 10_000 else f"{n / 1000:.0f}k"


def _number(spec: str) -> Callable[[Any], str]:
    return lambda v: "-" if v is None else format(v, spec)


@dataclass(frozen=True)
class Field:
    """One column of Table 5: the row attribute (and JSON key), its header and how a table shows it."""

    key: str
    header: str
    unit: str = ""
    text: Callable[[Any], str] = str

    @property
    def title(self) -> str:
        return f"{self.header} {self.unit}".strip()


FIELDS: tuple[Field, ...] = (
    Field("model", "model"),
    Field("description", "description", text=lambda v: v or ""),
    Field("trainable_params", "trainable params", text=human_params),
    Field("storage_mb", "storage", "MB", _number(".3f")),
    Field("network_mb", "network per task", "MB", _number(".2f")),
    Field("program_download_mb", "program download", "MB", _number(".2f")),
    Field("memory_mb", "memory", "MB", _number(".2f")),
    Field("mean_s_per_5000", "mean s / 5000", text=_number(".2f")),
    Field("std_s_per_5000", "stdev across devices", "s", _number(".2f")),
    Field("std_repeats_s_per_5000", "stdev across repeats", "s", _number(".2f")),
    Field("device_min_s", "fastest device", "s", _number(".2f")),
    Field("device_max_s", "slowest device", "s", _number(".2f")),
    Field("device_cv", "CV across devices", text=_number(".2f")),
    Field("mean_cpu_percent", "CPU", "% of device", _number(".2f")),
    Field("mean_cpu_core_percent", "CPU", "% of one core", _number(".0f")),
    Field("devices_ok", "devices ok"),
    Field("devices_failed", "devices failed"),
)
FIELD = {f.key: f for f in FIELDS}

# The run command's summary: what a person checks right after a run.
RUN_SUMMARY = (
    "model",
    "trainable_params",
    "storage_mb",
    "network_mb",
    "memory_mb",
    "mean_s_per_5000",
    "std_s_per_5000",
    "std_repeats_s_per_5000",
    "mean_cpu_percent",
    "mean_cpu_core_percent",
    "devices_ok",
    "devices_failed",
)


@dataclass(frozen=True)
class Table5Row:
    """One model over its records: sizes, network per FL task and the program download, mean peak
    memory above baseline, seconds per 5,000 examples (mean over devices; stdev across devices and
    across repeats), the fastest and slowest device mean, mean CPU as % of the device and of one
    core, and how many devices ran it."""

    model: str
    description: str | None
    trainable_params: int | None
    storage_mb: float | None
    network_mb: float | None
    program_download_mb: float | None
    memory_mb: float | None
    mean_s_per_5000: float | None
    std_s_per_5000: float | None
    std_repeats_s_per_5000: float | None
    device_min_s: float | None
    device_max_s: float | None
    device_cv: float | None
    mean_cpu_percent: float | None
    mean_cpu_core_percent: float | None
    devices_ok: int
    devices_failed: int

    @property
    def trainable(self) -> str:
        return human_params(self.trainable_params)

    def as_dict(self) -> dict[str, Any]:
        return {f.key: getattr(self, f.key) for f in FIELDS}

    def cells(self, keys: Sequence[str] = tuple(FIELD)) -> list[str]:
        return [FIELD[k].text(getattr(self, k)) for k in keys]


def headers(keys: Sequence[str] = tuple(FIELD)) -> list[str]:
    return [FIELD[k].title for k in keys]


def _mean(values: Iterable[float | None]) -> float | None:
    """The mean of the measured values; None (shown '-') when one is not a finite number."""
    measured = [x for x in values if x is not None]
    v = [f for x in measured if (f := finite(x)) is not None]
    return float(np.mean(v)) if v and len(v) == len(measured) else None


def _row(name: str, rs: list[Record]) -> Table5Row:
    ok = [r for r in rs if r["status"] == "ok"]
    model = (ok or rs)[0]["model"]
    per_device = [s for r in ok if (s := seconds_per_5000(r)) is not None]
    mean_5000, std_repeats, std_devices = spread_s_per_5000(ok)
    first = (ok or rs)[0]
    return Table5Row(
        model=name,
        description=model.get("description"),
        trainable_params=model["trainable_params"],
        storage_mb=finite(storage_mb(first)),
        network_mb=finite(bytes_mb(task_network_bytes(first))),
        program_download_mb=finite(storage_mb(first)),
        memory_mb=_mean(r["memory"]["peak_delta_mb"] for r in ok),
        mean_s_per_5000=mean_5000,
        std_s_per_5000=std_devices,
        std_repeats_s_per_5000=std_repeats,
        device_min_s=min(per_device) if per_device else None,
        device_max_s=max(per_device) if per_device else None,
        device_cv=float(np.std(per_device, ddof=1) / np.mean(per_device))
        if len(per_device) > 1 and np.mean(per_device) > 0
        else None,
        mean_cpu_percent=_mean(cpu_device_percent(r) for r in ok),
        mean_cpu_core_percent=_mean(r["cpu"]["mean_percent"] for r in ok),
        devices_ok=len({r["device"]["id"] for r in ok}),
        devices_failed=len({r["device"]["id"] for r in rs if r["status"] != "ok"}),
    )


def table5(records: Iterable[Record]) -> list[Table5Row]:
    """One row per model, sorted by name."""
    by_model: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        by_model[r["model"]["name"]].append(r)
    return [_row(name, by_model[name]) for name in sorted(by_model)]
