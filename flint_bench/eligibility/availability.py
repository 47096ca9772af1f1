"""Availability over time: sessions active per hour (the paper's Figure 2), its daily trough
against the weekly peak, and the traces of eligible sessions the simulator replays."""

from __future__ import annotations

from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ..core.errors import UserError
from ..core.fileio import write_atomic

if TYPE_CHECKING:
    import pandas as pd

FloatArray = npt.NDArray[np.float64]
Counts = npt.NDArray[np.int64]
TABLE_SUFFIXES = (".parquet", ".csv")


def hourly_active(start: FloatArray, end: FloatArray, hours: int) -> Counts:
    """Sessions active in each hour of the log (a session counts in every hour it overlaps)."""
    first = np.clip((start // 3600).astype(np.int64), 0, hours - 1)
    last = np.clip((np.maximum(end - 1e-9, start) // 3600).astype(np.int64), 0, hours - 1)
    diff = np.bincount(first, minlength=hours + 1) - np.bincount(last + 1, minlength=hours + 1)
    return np.cumsum(diff[:-1])


def trough_to_peak(active: Counts) -> float:
    """Median over days of (the day's lowest hour / the week's highest hour), as in Figure 2."""
    days = active.size // 24
    if days == 0 or active.max() == 0:
        return float("nan")
    return float(np.median(active[: days * 24].reshape(days, 24).min(axis=1)) / active.max())


TRACE_DEVICE_COLUMNS = ("device_model", "platform", "os_version", "device_tier", "soc", "ram_mb", "release_year")


def availability_traces(frame: pd.DataFrame, eligible_rows: npt.NDArray[np.bool_]) -> pd.DataFrame:
    """(device_id, start, end) in seconds since the log start of every session meeting all
    criteria, sorted by start, with the device attributes the log has (TRACE_DEVICE_COLUMNS) so the
    simulator can map each device onto a measured one."""
    import pandas as pd

    idx = np.flatnonzero(eligible_rows)
    out = pd.DataFrame(
        {
            "device_id": frame["device_id"].to_numpy()[idx],
            "start": frame["start"].to_numpy()[idx].astype(np.float64),
            "end": frame["end"].to_numpy()[idx].astype(np.float64),
        }
    )
    # the device attributes the simulator maps onto measured devices (flint_bench.coverage)
    for column in TRACE_DEVICE_COLUMNS:
        if column in frame.columns:
            out[column] = frame[column].iloc[idx].reset_index(drop=True)
    return out.sort_values(["start", "device_id"], kind="stable", ignore_index=True)


def check_table_path(path: Path, option: str) -> None:
    """A session log or traces file is .parquet (fast) or .csv."""
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise UserError(f"{option} {path}: expected a .parquet or .csv file name.")


def write_traces(traces: pd.DataFrame, path: Path) -> dict[str, Any]:
    """Write the traces atomically as .parquet or .csv; what was written, for the command's output."""
    check_table_path(path, "--traces-out")

    def write(f: IO[bytes]) -> None:
        if path.suffix.lower() == ".csv":
            traces.to_csv(f, index=False)
        else:
            traces.to_parquet(f, index=False)

    write_atomic(path, write)
    return {"file": str(path), "rows": len(traces), "devices": int(traces["device_id"].nunique())}
