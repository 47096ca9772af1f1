"""Hooks into a trial's loop: stopping at the target metric and checkpointing are callbacks.

The loop calls each callback in order after every aggregation; a callback returning True ends the
trial (`TrialState.done`), and later callbacks see that.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ..core.errors import UserError
from .checkpoint import save_checkpoint
from .state import TrialState


class TrialCallback:
    def start_trial(self, st: TrialState) -> None:
        """Called when a trial starts or resumes."""

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


class Interrupted(UserError):
    """The run was asked to stop (Ctrl-C, SIGTERM) and stopped after a whole aggregation (exit code 130)."""

    exit_code = 130

    def __init__(self, aggregation: int, out: Path | None):
        saved = (
            f"checkpoint saved in {out}; continue with `flint-bench simulate --resume {out}`"
            if out
            else "nothing saved (no --out)"
        )
        super().__init__(f"simulate: interrupted after aggregation {aggregation}; {saved}.")
        self.aggregation, self.out = aggregation, out


class StopRequest:
    """Set by a signal handler; the trial loop stops at the next aggregation boundary (a consistent state)."""

    def __init__(self) -> None:
        self.requested = False


class Checkpointing(TrialCallback):
    """Save the run so far (finished trials, their rows, this trial's state) every `every_s` wall seconds, or
    every `every` aggregations when that is set; and after the aggregation in flight when a stop is requested."""

    def __init__(
        self,
        out: Path,
        raw_config: dict[str, Any],
        finished: list[dict[str, Any]],
        rows: list[dict[str, Any]],
        every: int | None = None,
        every_s: float = 30.0,
    ):
        self.out, self.raw_config, self.finished, self.rows, self.every = out, raw_config, finished, rows, every
        self.every_s, self.last = every_s, time.monotonic()

    def after_aggregation(self, st: TrialState, evaluated: bool) -> bool:
        due = st.sched.c.aggregations % self.every == 0 if self.every else time.monotonic() - self.last >= self.every_s
        if due and not st.done:
            self.save(st)
        return False

    def save(self, st: TrialState | None) -> None:
        """`st` None: between trials (all of `finished` are done)."""
        save_checkpoint(self.out, self.raw_config, self.finished, self.rows, st)
        self.last = time.monotonic()


class Stopping(TrialCallback):
    """Ends the run at an aggregation boundary once `stop` is requested, checkpointing first (with --out)."""

    def __init__(self, stop: StopRequest, checkpointing: Checkpointing | None):
        self.stop, self.checkpointing = stop, checkpointing

    def after_aggregation(self, st: TrialState, evaluated: bool) -> bool:
        if self.stop.requested and not st.done:  # a trial that just ended is finished and saved by the run
            if self.checkpointing is not None:
                self.checkpointing.save(st)
            raise Interrupted(st.sched.c.aggregations, self.checkpointing.out if self.checkpointing else None)
        return False
