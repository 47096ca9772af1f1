"""What the API functions share: path arguments and the optional MLflow run."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..tracking.mlflow import Tracker

PathLike = str | Path


@contextmanager
def tracked(
    enabled: bool, command: str, run_name: str | None = None, say: Callable[[str], None] | None = None
) -> Iterator[Tracker | None]:
    """The command's MLflow run when `enabled` (else None); `say` is told where it went, password hidden."""
    if not enabled:
        yield None
        return
    from ..tracking.mlflow import shown_uri, start_run

    with start_run(command, run_name) as tracker:
        yield tracker
    if say is not None:
        nested = f" with {len(tracker.children)} nested run(s)" if tracker.children else ""
        say(f"mlflow: run {tracker.run_id}{nested} in experiment {tracker.experiment_name} at {shown_uri(tracker.uri)}")


def path(value: PathLike | None) -> Path | None:
    return None if value is None else Path(value)
