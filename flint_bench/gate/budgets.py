"""Deployment budgets per target app (paper section 4.1) and the per-record checks against them.

The budgets TOML is owned by the eligibility rules (`configs/budgets.toml`, `[targets.<name>]` with
`max_storage_mb`, `max_memory_mb`, `max_task_seconds`, `min_os_version`); when
`flint_bench.profiles.load_budgets` exists it is used, so there is one format. Checks are pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

MB = 1e6
# The OSes a bare `min_os_version` applies to: phone OS versions mean nothing for a Linux host CPU.
MOBILE_OSES = ("android", "ios")


@dataclass
class Target:
    """One deployment target (an app the model ships in) and its budgets; None = no limit."""

    max_storage_mb: float | None = None
    max_memory_mb: float | None = None
    max_task_seconds: float | None = None
    # "10" applies to Android and iOS devices; a table {Android = "10", iOS = "15"} per OS.
    min_os_version: Union[str, int, float, dict[str, Any], None] = None
    description: str | None = None
    name: str = field(default="", repr=False)


# Paper section 4.1: third-party-app models < 1 MB storage, first-party < 10 MB.
DEFAULT_TARGETS: dict[str, Target] = {
    "third-party": Target(max_storage_mb=1.0, description="model shipped in a third-party app (paper 4.1: < 1 MB)", name="third-party"),
    "first-party": Target(max_storage_mb=10.0, description="model shipped in a first-party app (paper 4.1: < 10 MB)", name="first-party"),
}


@dataclass
class Budgets:
    targets: dict[str, Target]
    source: str  # the file, or "built-in defaults"

    def select(self, names: list[str] | None) -> dict[str, Target]:
        from ..errors import UserError

        if not names:
            return dict(self.targets)
        unknown = [n for n in names if n not in self.targets]
        if unknown:
            raise UserError(f"{self.source}: no target named {', '.join(map(repr, unknown))}; the targets are {', '.join(sorted(self.targets))}.")
        return {n: self.targets[n] for n in names}


def _from_foreign(obj: Any, name: str) -> Target:
    """A target object from another module's loader (dataclass or dict) read through the shared field names."""
    get = obj.get if isinstance(obj, dict) else (lambda k, d=None: getattr(obj, k, d))
    return Target(max_storage_mb=get("max_storage_mb"), max_memory_mb=get("max_memory_mb"), max_task_seconds=get("max_task_seconds"),
                  min_os_version=get("min_os_version"), description=get("description"), name=name)


def load_budgets(path: str | Path | None) -> Budgets:
    """Budgets from a TOML file, or the paper's defaults when `path` is None."""
    if path is None:
        return Budgets(dict(DEFAULT_TARGETS), "built-in defaults (paper 4.1)")
    try:  # one budgets format: the eligibility engineer's loader when it exists
        from ..profiles import load_budgets as shared_loader  # type: ignore[attr-defined]
    except ImportError:
        shared_loader = None
    if shared_loader is not None:
        loaded = shared_loader(path)
        targets = getattr(loaded, "targets", loaded)
        if isinstance(targets, dict):
            return Budgets({n: _from_foreign(t, n) for n, t in targets.items()}, str(path))
    return _load_toml(Path(path))


def _load_toml(path: Path) -> Budgets:
    from ..config import from_dict, read_toml
    from ..errors import ConfigError

    data = read_toml(path)
    unknown = [k for k in data if k != "targets"]
    if unknown:
        raise ConfigError(str(path), unknown[0], "unknown key; a budgets file has [targets.<name>] tables")
    tables = data.get("targets")
    if not isinstance(tables, dict) or not tables:
        raise ConfigError(str(path), "targets", "missing: add at least one [targets.<name>] table")
    targets = {}
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise ConfigError(str(path), f"targets.{name}", "expected a table")
        target = from_dict(Target, {k: v for k, v in table.items()}, path, prefix=f"targets.{name}.")
        target.name = name
        targets[name] = target
    return Budgets(targets, str(path))


def version_tuple(text: Any) -> tuple[int, ...] | None:
    """'13.4.1' -> (13, 4, 1); '6.18.44-fc' -> (6, 18, 44); None when there is no leading number."""
    m = re.match(r"\s*(\d+(?:\.\d+)*)", str(text)) if text is not None else None
    return tuple(int(p) for p in m.group(1).split(".")) if m else None


def min_os_for(target: Target, os_name: str | None) -> str | None:
    """The minimum OS version that applies to a device of `os_name`, or None when none applies."""
    rule = target.min_os_version
    if rule is None:
        return None
    if isinstance(rule, dict):
        for key, value in rule.items():
            if os_name and key.lower() == os_name.lower():
                return str(value)
        return None
    return str(rule) if (os_name or "").lower() in MOBILE_OSES else None


def memory_mb(record: dict) -> float | None:
    """The model's memory footprint: the peak above the process baseline (the paper's Table 5 figure)."""
    mem = record.get("memory") or {}
    return mem.get("peak_delta_mb") if mem.get("peak_delta_mb") is not None else mem.get("peak_mb")


def task_seconds(record: dict) -> float | None:
    """Seconds to train one 5,000-example task on the device (mean over repeats)."""
    return ((record.get("timing") or {}).get("seconds_per_5000") or {}).get("mean")


def storage_mb(record: dict) -> float | None:
    b = record["model"].get("storage_bytes")
    return b / MB if b is not None else None


@dataclass
class BudgetBreach:
    metric: str  # storage_mb | memory_mb | task_seconds | os_version | status
    target: str
    message: str
    value: float | None = None
    limit: float | None = None


def device_supported(target: Target, record: dict) -> str | None:
    """None when the device's OS is new enough for `target`, else the reason."""
    dev = record["device"]
    need = min_os_for(target, dev.get("os"))
    if need is None:
        return None
    have, want = version_tuple(dev.get("os_version")), version_tuple(need)
    if have is None or want is None:
        return None  # unknown version: the eligibility rules decide, not the budget
    if have < want:
        return f"{dev.get('os')} {dev.get('os_version')} is older than {target.name}'s minimum {need}"
    return None


def check_record(target: Target, record: dict) -> list[BudgetBreach]:
    """Every budget of `target` a result record breaks; a failed run breaks them all (it did not train)."""
    name = target.name
    breaches = []
    s = storage_mb(record)
    if target.max_storage_mb is not None and s is not None and s > target.max_storage_mb:
        breaches.append(BudgetBreach("storage_mb", name, f"storage {s:.3g} MB > {target.max_storage_mb:g} MB ({name})", s, target.max_storage_mb))
    if record["status"] != "ok":
        err = record.get("error") or {}
        breaches.append(BudgetBreach("status", name, f"training failed ({err.get('kind', 'error')}): {(err.get('message') or '').splitlines()[0][:200] if err.get('message') else 'no message'}"))
        return breaches
    m = memory_mb(record)
    if target.max_memory_mb is not None and m is not None and m > target.max_memory_mb:
        breaches.append(BudgetBreach("memory_mb", name, f"memory {m:.3g} MB > {target.max_memory_mb:g} MB ({name})", m, target.max_memory_mb))
    t = task_seconds(record)
    if target.max_task_seconds is not None and t is not None and t > target.max_task_seconds:
        breaches.append(BudgetBreach("task_seconds", name, f"{t:.3g} s per 5,000 examples > {target.max_task_seconds:g} s ({name})", t, target.max_task_seconds))
    return breaches
