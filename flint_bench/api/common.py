"""What the API functions share: path arguments and the optional MLflow run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..tracking.mlflow import Tracker

PathLike = str | Path


@contextmanager
def tracked(enabled: bool, command: str, run_name: str | None = None) -> Iterator[Tracker | None]:
    if not enabled:
        yield None
        return
    from ..tracking.mlflow import start_run

    with start_run(command, run_name) as tracker:
        yield tracker


def path(value: PathLike | None) -> Path | None:
    return None if value is None else Path(value)
