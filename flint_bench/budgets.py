"""Deployment budgets: the targets a model ships to, and the checks of measurements against them.

One budgets format for the whole tool (`configs/budgets.toml`, a `[targets.<name>]` table per
target), read by `flint-bench compat`, the `compat` eligibility criterion, the gate and the report.
Without a file the paper's section 4.1 defaults apply: a model in a third-party app stays under
1 MB of storage, in a first-party app under 10 MB.

Two levels, one set of limits with one meaning each:

- `check_record`: one result record (one model on one device), for the gate and the report;
- `check_compat`: the device-profile table (one row per device model x OS x ML model), for
  `compat` and eligibility.

Both compare the same figures through `Target.breaches`:

- storage: the model artifact in MB (10^6 bytes), strictly below the limit;
- memory: **the memory the training adds** (peak minus the process baseline); a run without a
  baseline falls back to the whole-process peak, which over-states what training adds and so can
  only block, never wave through, a device. Records give it by `records.training_memory_mb`; the
  profile column `peak_memory_mb` is the same figure, worst device of the device model;
- task time: the worst case of one client task, `task_examples` examples at the per-example
  training time percentile `task_quantile` (raw per-step samples of a record, the quantile sketch
  of a profile: both interpolate linearly between order statistics);
- CPU: mean CPU during training as a share of the device, all cores = 100 (the paper's Table 5
  meaning, `records.cpu_device_percent`; a record without a core count has it unknown). A % of
  one core is not portable across devices with different core counts, so no budget uses it.

A figure that is missing or not a finite number (NaN, infinity: a broken device result or a
hand-edited file) is *unknown*: it never passes a limit silently, it is reported as "cannot judge"
(`Target.unknown`). Platform and minimum OS version say whether a target ships to a device at
all. Pure, except `load_budgets`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypedDict, cast

import numpy as np

from .core.config import Annotated, Interval, MinLen, Percentile, PositiveFloat, PositiveInt, from_dict, read_toml
from .core.errors import ConfigError
from .core.records import Record, cpu_device_percent, per_example_samples, storage_mb, training_memory_mb
from .core.stats import finite
from .core.text import shorten
from .core.units import MB
from .core.versions import version_at_least, version_tuple

if TYPE_CHECKING:
    import pandas as pd

Kind = Literal["third_party", "first_party"]
DeviceShare = Annotated[float, Interval(gt=0, le=100)]
# Paper section 4.1: a model shipped inside a third-party app must stay under 1 MB, first-party under 10 MB.
DEFAULT_STORAGE_MB: dict[Kind, float] = {"third_party": 1.0, "first_party": 10.0}
DEFAULTS_SOURCE = "built-in defaults (paper 4.1)"

Metric = Literal["storage_mb", "memory_mb", "task_seconds", "cpu_percent"]
# how each figure reads in a message: (label, unit)
METRIC_TEXT: dict[Metric, tuple[str, str]] = {
    "storage_mb": ("storage", " MB"),
    "memory_mb": ("peak memory", " MB"),
    "task_seconds": ("worst-case task", " s"),
    "cpu_percent": ("mean CPU", "% of the device"),
}


class Figures(TypedDict):
    """What the budgets limit, measured for one record or one profile row (None: not measured)."""

    storage_mb: float | None
    memory_mb: float | None  # the memory the training adds (module docstring)
    task_seconds: float | None  # the target's worst-case task
    cpu_percent: float | None  # share of the device, all cores = 100


@dataclass
class Target:
    """Budget of one deployment target; every limit is optional (None: not limited)."""

    kind: Kind = "first_party"
    description: str = ""
    # strict: storage < limit; None: the kind's paper 4.1 default (see `storage_limit_mb`)
    max_storage_mb: PositiveFloat | None = None
    # memory the training adds (peak - baseline; the whole-process peak when there is no baseline)
    max_memory_mb: PositiveFloat | None = None
    # worst-case task: `task_examples` examples at the per-example p<task_quantile> training time
    max_task_seconds: PositiveFloat | None = None
    task_examples: PositiveInt = 5000
    task_quantile: Percentile = 99.0
    # mean CPU as a share of the device (all cores = 100); at most 100, so a per-core figure of
    # schema 1 (e.g. 150) is refused rather than read with the wrong meaning
    max_cpu_percent: DeviceShare | None = None
    min_os_version: str | dict[str, str] | None = None  # one version for all OSes, or per OS name
    platforms: list[str] | None = None  # OS names this target ships on; None = any

    def validate(self, file: str, prefix: str) -> None:
        rules = self.min_os_version if isinstance(self.min_os_version, dict) else {"*": self.min_os_version}
        for os_name, version in rules.items():
            if version is not None and not version_tuple(version):
                key = prefix + "min_os_version" + ("" if os_name == "*" else f".{os_name}")
                raise ConfigError(file, key, f'expected a version such as "10" or "15.4", got {version!r}')

    @property
    def storage_limit_mb(self) -> float:
        """The storage limit that applies: the configured one, else the kind's default."""
        return self.max_storage_mb if self.max_storage_mb is not None else DEFAULT_STORAGE_MB[self.kind]

    def to_dict(self) -> dict[str, Any]:
        """The target as configured, with the storage limit that applies."""
        return {**asdict(self), "max_storage_mb": self.storage_limit_mb}

    def min_os_for(self, os_name: str) -> str | None:
        if self.min_os_version is None or isinstance(self.min_os_version, str):
            return self.min_os_version
        return {k.lower(): v for k, v in self.min_os_version.items()}.get(os_name.lower())

    def allows_platform(self, os_name: str) -> bool:
        return self.platforms is None or os_name.lower() in {p.lower() for p in self.platforms}

    def platform_problem(self, os_name: str) -> str | None:
        if self.allows_platform(os_name):
            return None
        return f"platform {os_name} not among the target's platforms {self.platforms}"

    def os_version_problem(self, os_name: str, os_version: str | None) -> str | None:
        need = self.min_os_for(os_name)
        if need is None or version_at_least(os_version, need):
            return None
        return f"{os_name} {os_version} < minimum {need}"

    def task_seconds(self, per_example_seconds: float) -> float:
        """Seconds for one task of `task_examples` examples at this per-example time."""
        return per_example_seconds * self.task_examples

    def limit(self, metric: Metric) -> float | None:
        """The limit on one figure (None: not limited)."""
        limits = {
            "storage_mb": self.storage_limit_mb,
            "memory_mb": self.max_memory_mb,
            "task_seconds": self.max_task_seconds,
            "cpu_percent": self.max_cpu_percent,
        }
        return limits[metric]

    def unknown(self, figures: Figures) -> list[Metric]:
        """The limited figures that are missing or not finite: the check cannot judge them."""
        return [m for m in METRIC_TEXT if self.limit(m) is not None and finite(figures[m]) is None]

    def unknown_reason(self, metric: Metric) -> str:
        label, unit = METRIC_TEXT[metric]
        return f"{label} unknown (not measured, or not a finite number): cannot judge against limit {self.limit(metric):g}{unit}"

    def breaches(self, name: str, figures: Figures) -> list[BudgetBreach]:
        """Every limit these figures break; an unknown figure (`unknown`) breaks nothing."""
        figures = cast(Figures, {m: finite(figures[m]) for m in METRIC_TEXT})
        out = []
        storage, limit = figures["storage_mb"], self.storage_limit_mb
        if storage is not None and storage >= limit:
            out.append(BudgetBreach("storage_mb", name, f"storage {storage:.3g} MB >= limit {limit:g} MB", storage, limit))
        memory = figures["memory_mb"]
        if self.max_memory_mb is not None and memory is not None and memory > self.max_memory_mb:
            reason = f"peak memory {memory:.3g} MB > limit {self.max_memory_mb:g} MB"
            out.append(BudgetBreach("memory_mb", name, reason, memory, self.max_memory_mb))
        task = figures["task_seconds"]
        if self.max_task_seconds is not None and task is not None and task > self.max_task_seconds:
            reason = (
                f"worst-case task {task:.3g} s for {self.task_examples} examples at p{self.task_quantile:g} "
                f"> limit {self.max_task_seconds:g} s"
            )
            out.append(BudgetBreach("task_seconds", name, reason, task, self.max_task_seconds))
        cpu = figures["cpu_percent"]
        if self.max_cpu_percent is not None and cpu is not None and cpu > self.max_cpu_percent:
            reason = f"mean CPU {cpu:.3g}% of the device > limit {self.max_cpu_percent:g}%"
            out.append(BudgetBreach("cpu_percent", name, reason, cpu, self.max_cpu_percent))
        return out


@dataclass
class BudgetBreach:
    metric: Metric | Literal["status"]
    target: str
    reason: str  # without the target's name (the compat table has a target column)
    value: float | None = None
    limit: float | None = None

    @property
    def message(self) -> str:
        return f"{self.reason} ({self.target})"


DEFAULT_TARGETS: dict[str, Target] = {
    "third_party": Target("third_party", "model shipped in a third-party app (paper 4.1: < 1 MB)"),
    "first_party": Target("first_party", "model shipped in a first-party app (paper 4.1: < 10 MB)"),
}


@dataclass
class _BudgetsFile:
    """The TOML file's schema."""

    targets: Annotated[dict[str, Target], MinLen(1)]


@dataclass
class Budgets:
    targets: dict[str, Target]
    source: str = DEFAULTS_SOURCE  # the file, or the built-in defaults

    def target(self, name: str) -> Target:
        if name not in self.targets:
            raise ConfigError(self.source, f"targets.{name}", f"unknown target; the budgets define {sorted(self.targets)}")
        return self.targets[name]

    def select(self, names: Iterable[str] | None) -> dict[str, Target]:
        """The named targets (an unknown name is a ConfigError), or every target."""
        return {n: self.target(n) for n in names} if names else dict(self.targets)


def load_budgets(path: str | Path | None) -> Budgets:
    """Budgets from a TOML file, or the paper's defaults when `path` is None."""
    if path is None:
        return Budgets(dict(DEFAULT_TARGETS))
    return Budgets(from_dict(_BudgetsFile, read_toml(path), path).targets, str(path))


# -- one result record: the gate and the report ----------------------------------------------------


def worst_task_seconds(record: Record, target: Target) -> float | None:
    """The target's worst-case task time from the record's raw per-step samples; None (unknown)
    without samples or when one is not a finite, non-negative number."""
    samples = np.asarray(per_example_samples(record), dtype=float)
    if samples.size == 0 or not np.all(np.isfinite(samples)) or np.any(samples < 0):
        return None
    return finite(target.task_seconds(float(np.percentile(samples, target.task_quantile))))


def device_supported(target: Target, record: Record) -> str | None:
    """None when the target ships to the record's device (platform and OS version), else why not."""
    device = record["device"]
    os_name = str(device["os"] or "")
    return target.platform_problem(os_name) or target.os_version_problem(os_name, device["os_version"])


def record_figures(record: Record, target: Target) -> Figures:
    """The figures `target` limits, of one result record. A failed run has only its storage."""
    ok = record["status"] == "ok"
    return {
        "storage_mb": finite(storage_mb(record)),
        "memory_mb": finite(training_memory_mb(record)) if ok else None,
        "task_seconds": worst_task_seconds(record, target) if ok else None,
        "cpu_percent": finite(cpu_device_percent(record)) if ok else None,
    }


def check_record(name: str, target: Target, record: Record) -> list[BudgetBreach]:
    """Every budget of `target` a result record breaks. A failed run is a breach of its own: the
    model did not train on that device."""
    breaches = target.breaches(name, record_figures(record, target))
    if record["status"] != "ok":
        error = record["error"] or {"kind": "error", "message": "no message"}
        first = shorten(error["message"] or "no message")
        breaches.append(BudgetBreach("status", name, f"training failed ({error['kind']}): {first}"))
    return breaches


# -- the device-profile table: compat and eligibility -----------------------------------------------

COMPAT_COLUMNS = [
    "target",
    "model",
    "device_model",
    "os",
    "os_version",
    "storage_mb",
    "peak_memory_mb",
    "task_seconds",
    "compatible",
    "device_ok",
    "os_ok",
    "unknown",
    "reasons",
]


def profile_task_seconds(quantiles: Sequence[float] | None, target: Target) -> float | None:
    """The target's worst-case task time from a profile's per-example quantile sketch (q0..q100);
    None (unknown) when the sketch is missing or holds a value that is not finite and >= 0."""
    try:
        q = np.asarray(quantiles, dtype=float)
    except (TypeError, ValueError):
        return None
    if q.ndim != 1 or q.size < 2 or not np.all(np.isfinite(q)) or np.any(q < 0):
        return None
    return finite(target.task_seconds(float(np.interp(target.task_quantile / 100.0, np.linspace(0, 1, q.size), q))))


def check_compat(
    profiles: pd.DataFrame, budgets: Budgets, models: list[str] | None = None, targets: list[str] | None = None
) -> pd.DataFrame:
    """Each profile row against each target. Columns: COMPAT_COLUMNS; `device_ok` is every check but the
    OS version, `unknown` the limited figures the profile lacks (or has as NaN/inf: never compatible,
    "cannot judge"), `reasons` the list of what fails or cannot be judged."""
    import pandas as pd

    rows = []
    for name, target in budgets.select(targets).items():
        for p in profiles.to_dict(orient="records"):
            if models and p["model"] not in models:
                continue
            os_name, os_version = str(p["os"]), str(p["os_version"])
            storage_bytes = finite(p["storage_bytes"])
            figures: Figures = {
                "storage_mb": storage_bytes / MB if storage_bytes is not None else None,
                "memory_mb": finite(p["peak_memory_mb"]),
                "task_seconds": profile_task_seconds(p["per_example_s_quantiles"], target),
                "cpu_percent": finite(p.get("cpu_device_percent")),
            }
            unknown = target.unknown(figures)
            reasons = [r for r in [target.platform_problem(os_name)] if r]
            reasons += [b.reason for b in target.breaches(name, figures)]
            reasons += [target.unknown_reason(m) for m in unknown]
            device_ok = not reasons
            os_problem = target.os_version_problem(os_name, os_version)
            if os_problem:
                reasons.append(os_problem)
            rows.append(
                {
                    "target": name,
                    "model": p["model"],
                    "device_model": p["device_model"],
                    "os": os_name,
                    "os_version": os_version,
                    "storage_mb": figures["storage_mb"],
                    "peak_memory_mb": figures["memory_mb"],
                    "task_seconds": figures["task_seconds"],
                    "compatible": device_ok and os_problem is None,
                    "device_ok": device_ok,
                    "os_ok": os_problem is None,
                    "unknown": unknown,
                    "reasons": reasons,
                }
            )
    return pd.DataFrame(rows, columns=COMPAT_COLUMNS)


def compat_summary(verdict: pd.DataFrame) -> list[dict[str, Any]]:
    """Per target and ML model of a `check_compat` table: the device model/OS pairs that may run
    it, and those that may not with the reasons (`unknown`: how many of them lack a figure)."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in verdict.to_dict(orient="records"):
        groups.setdefault((str(row["target"]), str(row["model"])), []).append({str(k): v for k, v in row.items()})
    summary = []
    for (target, model), rows in sorted(groups.items()):
        ok, bad = [r for r in rows if r["compatible"]], [r for r in rows if not r["compatible"]]
        summary.append(
            {
                "target": target,
                "model": model,
                "compatible": len(ok),
                "incompatible": len(bad),
                "unknown": sum(1 for r in bad if len(r["unknown"])),
                "devices": [{k: r[k] for k in ("device_model", "os", "os_version")} for r in ok],
                "excluded": [{k: r[k] for k in ("device_model", "os", "os_version", "unknown", "reasons")} for r in bad],
            }
        )
    return summary
