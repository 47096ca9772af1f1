"""Budgets applied to result records, for the gate and the report.

One budgets format for the whole tool: the file (`configs/budgets.toml`, `[targets.<name>]`) and
its `Target` dataclass belong to `flint_bench.profiles.budgets`, whose `check_compat` judges device
profiles; this module applies the same limits, with the same meaning, to single result records
(one model on one device). Without a file the paper's section 4.1 defaults apply: third-party
apps < 1 MB storage, first-party < 10 MB. Pure, except `load_budgets`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..profiles.budgets import MB, Target, version_at_least
from ..profiles.budgets import load_budgets as _load_file

__all__ = [
    "DEFAULT_TARGETS",
    "BudgetBreach",
    "Budgets",
    "Target",
    "check_record",
    "device_supported",
    "load_budgets",
    "memory_mb",
    "storage_mb",
    "task_seconds",
    "worst_task_seconds",
]


def _default(kind: str, description: str) -> Target:
    t = Target(kind=kind, description=description)  # type: ignore[arg-type]
    t.validate("built-in defaults", f"targets.{kind}.")  # fills the storage limit from the kind
    return t


DEFAULT_TARGETS: dict[str, Target] = {
    "third_party": _default("third_party", "model shipped in a third-party app (paper 4.1: < 1 MB)"),
    "first_party": _default("first_party", "model shipped in a first-party app (paper 4.1: < 10 MB)"),
}


@dataclass
class Budgets:
    targets: dict[str, Target]
    source: str  # the file, or the built-in defaults

    def select(self, names: list[str] | None) -> dict[str, Target]:
        from ..core.errors import UserError

        if not names:
            return dict(self.targets)
        unknown = [n for n in names if n not in self.targets]
        if unknown:
            raise UserError(
                f"{self.source}: no target named {', '.join(map(repr, unknown))}; the targets are {', '.join(sorted(self.targets))}."
            )
        return {n: self.targets[n] for n in names}


def load_budgets(path: str | Path | None) -> Budgets:
    """Budgets from a TOML file (the eligibility rules' format), or the paper's defaults."""
    if path is None:
        return Budgets(dict(DEFAULT_TARGETS), "built-in defaults (paper 4.1)")
    return Budgets(dict(_load_file(path).targets), str(path))


def storage_mb(record: dict) -> float | None:
    b = record["model"].get("storage_bytes")
    return b / MB if b is not None else None


def memory_mb(record: dict) -> float | None:
    """Memory the training adds: peak above the process baseline (the paper's Table 5 figure)."""
    mem = record.get("memory") or {}
    return mem.get("peak_delta_mb") if mem.get("peak_delta_mb") is not None else mem.get("peak_mb")


def task_seconds(record: dict) -> float | None:
    """Mean seconds to train 5,000 examples on the device (Table 5, Figure 4)."""
    return ((record.get("timing") or {}).get("seconds_per_5000") or {}).get("mean")


def worst_task_seconds(record: dict, target: Target) -> float | None:
    """The budget's task time: `task_examples` examples at the per-example percentile `task_quantile`
    of the raw per-step samples (as `check_compat` computes it from a profile)."""
    from .checks import per_example_samples

    s = per_example_samples(record)
    return float(np.percentile(s, target.task_quantile)) * target.task_examples if s else None


@dataclass
class BudgetBreach:
    metric: str  # storage_mb | memory_mb | task_seconds | cpu_percent | status
    target: str
    message: str
    value: float | None = None
    limit: float | None = None


def device_supported(name: str, target: Target, record: dict) -> str | None:
    """None when the target ships to this device (platform and OS version), else why not."""
    dev = record["device"]
    os_name, version = str(dev.get("os") or ""), dev.get("os_version")
    if not target.allows_platform(os_name):
        return f"{os_name} is not among {name}'s platforms {target.platforms}"
    need = target.min_os_for(os_name)
    if need is not None and not version_at_least(version, need):
        return f"{os_name} {version} is older than {name}'s minimum {need}"
    return None


def check_record(name: str, target: Target, record: dict) -> list[BudgetBreach]:
    """Every budget of `target` a result record breaks. Storage is strict (< limit, paper 4.1);
    a failed run is a breach of its own: the model did not train on that device."""
    breaches = []
    s = storage_mb(record)
    if target.max_storage_mb is not None and s is not None and s >= target.max_storage_mb:
        breaches.append(
            BudgetBreach(
                "storage_mb", name, f"storage {s:.3g} MB >= limit {target.max_storage_mb:g} MB ({name})", s, target.max_storage_mb
            )
        )
    if record["status"] != "ok":
        err = record.get("error") or {}
        first = (err.get("message") or "no message").splitlines()[0][:200]
        breaches.append(BudgetBreach("status", name, f"training failed ({err.get('kind', 'error')}): {first}"))
        return breaches
    m = memory_mb(record)
    if target.max_memory_mb is not None and m is not None and m > target.max_memory_mb:
        breaches.append(
            BudgetBreach(
                "memory_mb", name, f"memory {m:.3g} MB > limit {target.max_memory_mb:g} MB ({name})", m, target.max_memory_mb
            )
        )
    t = worst_task_seconds(record, target)
    if target.max_task_seconds is not None and t is not None and t > target.max_task_seconds:
        breaches.append(
            BudgetBreach(
                "task_seconds",
                name,
                f"worst-case task {t:.3g} s for {target.task_examples} examples at "
                f"p{target.task_quantile:g} > limit {target.max_task_seconds:g} s ({name})",
                t,
                target.max_task_seconds,
            )
        )
    cpu = (record.get("cpu") or {}).get("mean_percent")
    if target.max_cpu_percent is not None and cpu is not None and cpu > target.max_cpu_percent:
        breaches.append(
            BudgetBreach(
                "cpu_percent",
                name,
                f"mean CPU {cpu:.3g}% > limit {target.max_cpu_percent:g}% ({name})",
                cpu,
                target.max_cpu_percent,
            )
        )
    return breaches
