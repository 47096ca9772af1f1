"""Hooks into a trial's loop: stopping at the target metric and checkpointing are callbacks.

The loop calls each callback in order after every aggregation; a callback returning True ends the
trial (`TrialState.done`), and later callbacks see that.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .checkpoint import save_checkpoint
from .state import TrialState


class TrialCallback:
    def after_aggregation(self, st: TrialState, evaluated: bool) -> bool:
        """Called after every aggregation (`evaluated`: the model was just evaluated); True stops the trial."""
        return False


class TargetStopping(TrialCallback):
    """Stop a trial the first time its evaluated metric reaches `target`, recording the virtual hours taken."""

    def __init__(self, target: float):
        self.target = target

    def after_aggregation(self, st: TrialState, evaluated: bool) -> bool:
        if evaluated and st.hours_to_target is None and st.last_metric is not None and st.last_metric >= self.target:
            st.hours_to_target = st.sched.now / 3600.0
            return True
        return False


class Checkpointing(TrialCallback):
    """Every `every` aggregations, save the run so far (finished trials, their rows, this trial's state)."""

    def __init__(
        self, out: Path, raw_config: dict[str, Any], finished: list[dict[str, Any]], rows: list[dict[str, Any]], every: int
    ):
        self.out, self.raw_config, self.finished, self.rows, self.every = out, raw_config, finished, rows, every

    def after_aggregation(self, st: TrialState, evaluated: bool) -> bool:
        if st.sched.c.aggregations % self.every == 0 and not st.done:
            self.save(st)
        return False

    def save(self, st: TrialState | None) -> None:
        """`st` None: between trials (all of `finished` are done)."""
        save_checkpoint(self.out, self.raw_config, self.finished, self.rows, st)
