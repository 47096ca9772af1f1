"""Deployment budgets (TOML) and the compatibility check of device profiles against them.

`load_budgets` parses `[targets.<name>]` tables into dataclasses; `check_compat` is pure: a profile
table and budgets in, one row per (target, ML model, device model, OS, OS version) out, with
a verdict and the reasons a device may not run the model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ..core.config import from_dict, read_toml
from ..core.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

MB = 1e6
# Paper section 4.1: a model shipped inside a third-party app must stay under 1 MB, first-party under 10 MB.
DEFAULT_STORAGE_MB = {"third_party": 1.0, "first_party": 10.0}


def version_tuple(version: object) -> tuple[int, ...]:
    """'17.2.1' -> (17, 2, 1); '6.18.44-fc' -> (6, 18, 44); '14' -> (14,). Non-numeric -> ()."""
    m = re.match(r"\s*(\d+(?:\.\d+)*)", str(version))
    return tuple(int(p) for p in m.group(1).split(".")) if m else ()


def version_at_least(version: object, minimum: object) -> bool:
    v, lo = version_tuple(version), version_tuple(minimum)
    width = max(len(v), len(lo))
    return bool(v) and v + (0,) * (width - len(v)) >= lo + (0,) * (width - len(lo))


@dataclass
class Target:
    """Budget of one deployment target. `max_task_seconds` bounds the worst case: the time to train
    `task_examples` examples at the device model's per-example p<`task_quantile`> training time."""

    kind: Literal["third_party", "first_party"] = "first_party"
    description: str = ""
    max_storage_mb: float | None = None  # strict: storage < limit (paper: < 1 MB / < 10 MB); default by kind
    max_memory_mb: float | None = None  # peak memory the training adds (profile column peak_memory_mb)
    max_task_seconds: float | None = None
    task_examples: int = 5000
    task_quantile: float = 99.0
    max_cpu_percent: float | None = None  # mean CPU % (100 = one core)
    min_os_version: str | dict[str, str] | None = None  # one version for all OSes, or per OS name
    platforms: list[str] | None = None  # OS names this target ships on; None = any

    def validate(self, file: str, prefix: str) -> None:
        if self.max_storage_mb is None:
            self.max_storage_mb = DEFAULT_STORAGE_MB[self.kind]
        for name in ("max_storage_mb", "max_memory_mb", "max_task_seconds", "max_cpu_percent"):
            v = getattr(self, name)
            if v is not None and v <= 0:
                raise ConfigError(file, prefix + name, f"must be a positive number, got {v!r}")
        if self.task_examples < 1:
            raise ConfigError(file, prefix + "task_examples", f"must be at least 1, got {self.task_examples}")
        if not 0 <= self.task_quantile <= 100:
            raise ConfigError(file, prefix + "task_quantile", f"must be a percentile between 0 and 100, got {self.task_quantile}")
        mins = (
            self.min_os_version
            if isinstance(self.min_os_version, dict)
            else {"*": self.min_os_version}
            if self.min_os_version
            else {}
        )
        for os_name, v in mins.items():
            if not version_tuple(v):
                key = prefix + "min_os_version" + ("" if os_name == "*" else f".{os_name}")
                raise ConfigError(file, key, f'expected a version such as "10" or "15.4", got {v!r}')

    def min_os_for(self, os_name: str) -> str | None:
        if self.min_os_version is None:
            return None
        if isinstance(self.min_os_version, str):
            return self.min_os_version
        lowered = {k.lower(): v for k, v in self.min_os_version.items()}
        return lowered.get(str(os_name).lower())

    def allows_platform(self, os_name: str) -> bool:
        return self.platforms is None or str(os_name).lower() in {p.lower() for p in self.platforms}


@dataclass
class Budgets:
    targets: dict[str, Target] = field(default_factory=dict)

    def validate(self, file: str, prefix: str) -> None:
        if not self.targets:
            raise ConfigError(file, prefix + "targets", "no targets: add at least one [targets.<name>] table")

    def target(self, name: str, file: str = "budgets") -> Target:
        if name not in self.targets:
            raise ConfigError(file, f"targets.{name}", f"unknown target; the budgets define {sorted(self.targets)}")
        return self.targets[name]


def load_budgets(path: str | Path) -> Budgets:
    return from_dict(Budgets, read_toml(path), path)


def task_seconds(quantiles, task_examples: int, task_quantile: float) -> float:
    """Worst-case seconds to train `task_examples` examples at the given per-example percentile."""
    import numpy as np

    q = np.asarray(quantiles, dtype=float)
    return float(np.interp(task_quantile / 100.0, np.linspace(0, 1, q.size), q) * task_examples)


def check_compat(
    profiles: pd.DataFrame, budgets: Budgets, models: list[str] | None = None, targets: list[str] | None = None
) -> pd.DataFrame:
    """Each profile row against each target. Columns: target, model, device_model, os, os_version,
    task_seconds, compatible, device_ok (every check but the OS version), os_ok, reasons (list)."""
    import pandas as pd

    rows = []
    names = targets or list(budgets.targets)
    for tname in names:
        t = budgets.target(tname)
        for p in profiles.itertuples(index=False):
            if models and p.model not in models:
                continue
            reasons: list[str] = []
            secs = task_seconds(p.per_example_s_quantiles, t.task_examples, t.task_quantile)
            storage_mb = (p.storage_bytes or 0) / MB
            if not t.allows_platform(p.os):
                reasons.append(f"platform {p.os} not among the target's platforms {t.platforms}")
            if t.max_storage_mb is not None and storage_mb >= t.max_storage_mb:
                reasons.append(f"storage {storage_mb:.3g} MB >= limit {t.max_storage_mb:g} MB")
            if t.max_memory_mb is not None and p.peak_memory_mb is not None and p.peak_memory_mb > t.max_memory_mb:
                reasons.append(f"peak memory {p.peak_memory_mb:.3g} MB > limit {t.max_memory_mb:g} MB")
            if t.max_task_seconds is not None and secs > t.max_task_seconds:
                reasons.append(
                    f"worst-case task {secs:.3g} s for {t.task_examples} examples at p{t.task_quantile:g} "
                    f"> limit {t.max_task_seconds:g} s"
                )
            cpu = getattr(p, "cpu_mean_percent", None)
            if t.max_cpu_percent is not None and cpu is not None and cpu > t.max_cpu_percent:
                reasons.append(f"mean CPU {cpu:.3g}% > limit {t.max_cpu_percent:g}%")
            device_ok = not reasons
            min_os = t.min_os_for(p.os)
            os_ok = min_os is None or version_at_least(p.os_version, min_os)
            if not os_ok:
                reasons.append(f"{p.os} {p.os_version} < minimum {min_os}")
            rows.append(
                {
                    "target": tname,
                    "model": p.model,
                    "device_model": p.device_model,
                    "os": p.os,
                    "os_version": p.os_version,
                    "storage_mb": storage_mb,
                    "peak_memory_mb": p.peak_memory_mb,
                    "task_seconds": secs,
                    "compatible": device_ok and os_ok,
                    "device_ok": device_ok,
                    "os_ok": os_ok,
                    "reasons": reasons,
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
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
            "reasons",
        ],
    )
