"""A live progress bar over a run's trials and aggregations: virtual hours, client tasks and the metric.

A `TrialCallback`, so the trial loop knows nothing of terminals; it redraws at most every
`min_interval_s` (a run may aggregate hundreds of times a second).
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import TYPE_CHECKING

from .callbacks import TrialCallback
from .state import TrialState

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID


class ProgressBar(TrialCallback):
    def __init__(self, trials: int, max_aggregations: int, console: Console, min_interval_s: float = 0.2):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.trials, self.max_aggregations, self.min_interval_s = trials, max_aggregations, min_interval_s
        self.progress: Progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("aggregations · {task.fields[status]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.task: TaskID | None = None
        self.last = 0.0

    def __enter__(self) -> ProgressBar:
        self.progress.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.progress.stop()

    def start_trial(self, st: TrialState) -> None:
        self.task = self.progress.add_task(f"trial {st.trial + 1}/{self.trials}", total=self.max_aggregations, status=status(st))
        self._draw(st)

    def after_aggregation(self, st: TrialState, evaluated: bool) -> bool:
        now = time.monotonic()
        if now - self.last >= self.min_interval_s or st.done:
            self.last = now
            self._draw(st)
        return False

    def _draw(self, st: TrialState) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=st.sched.c.aggregations, status=status(st))


def status(st: TrialState) -> str:
    """The figures beside the bar: virtual hours, tasks started and aggregated, the last evaluated metric."""
    c = st.sched.c
    metric = "–" if st.last_metric is None else f"{st.last_metric:.4f}"
    return f"{st.sched.now / 3600:,.1f} virtual h · {c.started:,} tasks ({c.succeeded:,} aggregated) · metric {metric}"
