"""A trial in progress: what the trial loop, the callbacks and the checkpoints share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .clock import Scheduler

if TYPE_CHECKING:
    import torch


@dataclass
class TrialState:
    """One trial in progress; `checkpoint` saves and restores it field by field."""

    trial: int
    sched: Scheduler
    flat: torch.Tensor | None = None  # the current global model (None for a system-only run)
    snapshots: dict[int, torch.Tensor] = field(default_factory=dict)  # model version -> flat, for stale clients
    rows: list[dict[str, Any]] = field(default_factory=list)  # one per evaluation (metrics.parquet)
    hours_to_target: float | None = None
    metric_at_budget: float | None = None
    last_metric: float | None = None
    last_loss: float | None = None
    done: bool = False
