"""The session-log schema and its loader (CSV or Parquet), with errors that name the file and column.

One row per app session of a device. Device-level attributes (platform, model, OS, account) are
repeated on each of the device's rows, which keeps the format flat and appendable; the loader turns
string columns into categoricals so the repetition costs a few bytes per row.
"""

from __future__ import annotations

import codecs
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..core.errors import UserError

if TYPE_CHECKING:
    import pandas as pd


Family = Literal["compute", "device_state", "user"]  # what a criterion on a field is about


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # id | category | version | date | time | bool | number
    family: Family | None  # criterion family a rule on this column belongs to (None: not a rule field)
    description: str
    required: bool = False  # required whatever the rules; the others only when a rule or dimension uses them


COLUMNS: dict[str, Column] = {
    c.name: c
    for c in [
        Column("device_id", "id", None, "device (= user) identifier, integer or string", True),
        Column("platform", "category", "compute", "OS family: iOS or Android", True),
        Column("device_model", "category", "compute", "marketing model name, e.g. 'Pixel 7', 'iPhone 13'", True),
        Column("os_version", "version", "compute", "OS version, e.g. '14' or '17.2'", True),
        Column("start", "time", None, "session start: timestamp, or seconds since the log start", True),
        Column("end", "time", None, "session end: timestamp, or seconds since the log start (>= start)", True),
        Column("os_release_date", "date", "compute", "release date of that OS version (YYYY-MM-DD)"),
        Column("device_tier", "category", "compute", "hardware tier: low, mid or high (optional; a fairness dimension)"),
        # device attributes the device mapping (flint_bench.coverage) matches unmeasured devices on
        Column("soc", "category", "compute", "system on chip, e.g. 'Snapdragon 8 Gen 2' (optional; device mapping)"),
        Column("ram_mb", "number", "compute", "device RAM in MB (optional; device mapping)"),
        Column("release_year", "number", "compute", "year the device model came out (optional; device mapping)"),
        Column("wifi", "bool", "device_state", "connected to WiFi during the session"),
        Column("battery", "number", "device_state", "battery level at session start, percent 0-100"),
        Column("charging", "bool", "device_state", "charging during the session"),
        Column("foreground", "bool", "device_state", "app in the foreground (false: a background window)"),
        Column("account_age_days", "number", "user", "days since the account was created"),
        Column("reputation", "number", "user", "account reputation score, 0 (bad) to 1 (good)"),
        Column(
            "days_since_last_participation",
            "number",
            "user",
            "days since the device last took part in FL training; empty = never (counts as infinitely long ago)",
        ),
    ]
}

# Fields computed from the columns; rules and fairness dimensions may use them like columns.
DERIVED: dict[str, Column] = {
    c.name: c
    for c in [
        Column("session_seconds", "number", "device_state", "end - start, seconds"),
        Column("os_major", "number", "compute", "major OS version, e.g. 17 for '17.2'"),
        Column("os_band", "category", "compute", "platform and major OS version, e.g. 'iOS 17'"),
    ]
}
DERIVED_FROM = {"session_seconds": ("start", "end"), "os_major": ("os_version",), "os_band": ("platform", "os_version")}
FIELDS = {**COLUMNS, **DERIVED}
# A missing value in these columns means "never", which satisfies any lower bound.
MISSING_IS_INFINITE = {"days_since_last_participation"}


def needed_columns(fields: set[str]) -> list[str]:
    cols = {c.name for c in COLUMNS.values() if c.required}
    for f in fields:
        cols.update(DERIVED_FROM.get(f, (f,)))
    return [c for c in COLUMNS if c in cols]


def schema_text() -> str:
    return "; ".join(f"{c.name} ({c.kind}{', required' if c.required else ''})" for c in COLUMNS.values())


def _bad(path: Path, column: str, expected: str, found: str) -> UserError:
    return UserError(
        f"{path}: column '{column}': expected {expected}, found {found}. The session-log schema is: {schema_text()}."
    )


def _example(values: pd.Series) -> str:
    return repr(values.iloc[0]) if len(values) else "?"


def read_sessions(
    path: str | Path, fields: AbstractSet[str] = frozenset(), optional: AbstractSet[str] = frozenset()
) -> pd.DataFrame:
    """Read a session log (.parquet or .csv) with the columns that `fields` (rule fields) need and
    those of `optional` (fairness dimensions) the log has; check types and return normalised
    columns: categoricals for strings, bool, numbers, datetime64 for os_release_date, float64
    seconds since the log start for start/end."""
    import pandas as pd
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        raise UserError(
            f"{path}: session log not found. Create one with `flint-bench sessions synth --out {path}` "
            f"or export yours with the columns: {schema_text()}."
        )
    cols = needed_columns(set(fields))
    extra = [c for c in needed_columns(set(optional)) if c not in cols]
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        try:
            present = set(pq.read_schema(path).names)
        except Exception as e:
            raise UserError(f"{path}: not a readable Parquet file ({e}).") from None
        missing = [c for c in cols if c not in present]
        if missing:
            raise _missing(path, missing, fields)
        cols = cols + [c for c in extra if c in present]
        try:
            # self_destruct frees each Arrow column once converted: the peak stays near one copy of the log.
            frame = pq.read_table(path, columns=cols).to_pandas(date_as_object=False, self_destruct=True, split_blocks=True)
        except (ValueError, TypeError, OSError) as e:  # e.g. a dictionary with repeated values
            raise UserError(f"{path}: could not read the Parquet columns {cols} ({e}).") from None
    elif suffix == ".csv":
        _check_utf8(path)
        try:
            header = pd.read_csv(path, nrows=0).columns
        except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as e:
            raise UserError(
                f"{path}: not a readable CSV file with a header row ({e}). Columns expected: {schema_text()}."
            ) from None
        missing = [c for c in cols if c not in header]
        if missing:
            raise _missing(path, missing, fields)
        cols = cols + [c for c in extra if c in header]
        dtypes = {c: "category" for c in cols if COLUMNS[c].kind in ("category", "version")}
        try:
            frame = pd.read_csv(path, usecols=cols, dtype=dtypes)
        except (ValueError, pd.errors.ParserError) as e:
            raise UserError(f"{path}: could not parse the CSV ({e}).") from None
    else:
        raise UserError(f"{path}: unknown session-log format '{suffix}'; expected a .parquet or .csv file.")
    if len(frame) == 0:
        raise UserError(f"{path}: the session log is empty (no rows). Eligibility shares need at least one session.")
    return normalise(frame, path)


def _check_utf8(path: Path) -> None:
    """The whole CSV must be UTF-8: pandas decodes only the columns it reads, so a corrupt row in
    another column would pass silently. One streaming pass, far cheaper than the parse itself."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 24):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as e:
                raise UserError(f"{path}: not UTF-8 text (byte {offset + e.start}: {e.reason}).") from None
            offset += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as e:
        raise UserError(f"{path}: not UTF-8 text (it ends inside a character: {e.reason}).") from None


def _missing(path: Path, missing: list[str], fields: AbstractSet[str]) -> UserError:
    why = [m for m in missing if not COLUMNS[m].required]
    extra = f" (needed by the rules or fairness dimensions: {why})" if why else ""
    return UserError(f"{path}: column(s) {missing} missing{extra}. Expected columns: {schema_text()}.")


def normalise(frame: pd.DataFrame, path: str | Path = "sessions") -> pd.DataFrame:
    """Type-check and convert every known column of `frame` in place (see read_sessions)."""
    import pandas as pd

    path = Path(path)
    for name in list(frame.columns):
        col = COLUMNS.get(name)
        if col is None:
            continue
        s = frame[name]
        if col.kind == "id":
            if s.isna().any():
                raise _bad(path, name, "a device id on every row", "empty values")
            if not (pd.api.types.is_integer_dtype(s) or isinstance(s.dtype, pd.CategoricalDtype)):
                frame[name] = s.astype(str)
        elif col.kind in ("category", "version"):
            if not isinstance(s.dtype, pd.CategoricalDtype):
                s = s.astype("category")
            if not (pd.api.types.is_string_dtype(s.cat.categories) or s.cat.categories.dtype == object):
                s = s.cat.rename_categories([str(c) for c in s.cat.categories])
            frame[name] = s
        elif col.kind == "bool":
            if pd.api.types.is_bool_dtype(s) and not s.isna().any():
                frame[name] = s.to_numpy(dtype=bool)
            elif pd.api.types.is_numeric_dtype(s) and s.isin([0, 1]).all():
                frame[name] = s.to_numpy() == 1
            else:
                bad = s[~s.isin([True, False, 0, 1])]
                raise _bad(path, name, "true/false (or 1/0) on every row", f"{_example(bad)}")
        elif col.kind == "number":
            if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
                conv = pd.to_numeric(s, errors="coerce") if not pd.api.types.is_bool_dtype(s) else None
                if conv is None or (conv.isna() & s.notna()).any():
                    bad = s[conv.isna() & s.notna()] if conv is not None else s
                    raise _bad(path, name, "a number", f"{_example(bad)} ({s.dtype})")
                s = conv
            # Keep compact integer / float32 columns as they are: comparisons need no float64 copy.
            arr = s.to_numpy()
            frame[name] = arr if arr.dtype.kind in "iuf" else s.to_numpy(dtype=np.float64, na_value=np.nan)
        elif col.kind == "date":
            frame[name] = _to_datetime(s, path, name, "a date such as 2019-09-19")
        elif col.kind == "time":
            if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
                frame[name] = s.to_numpy(dtype=np.float64, na_value=np.nan)
            else:
                frame[name] = _to_datetime(s, path, name, "a timestamp (ISO 8601) or seconds since the log start")
            if pd.isna(frame[name]).any():
                raise _bad(path, name, "a time on every row", "empty values")
    # Timestamps become float seconds since the log start: midnight UTC of the first session's day,
    # so that the time of day stays readable from the seconds (t % 86400).
    if "start" in frame and "end" in frame:
        start, end = frame["start"].to_numpy(), frame["end"].to_numpy()
        if start.dtype.kind != end.dtype.kind:
            raise _bad(
                path, "end", "the same kind of time as 'start' (both timestamps or both seconds)", f"{end.dtype} vs {start.dtype}"
            )
        if start.dtype.kind == "M":
            origin = start.min().astype("datetime64[D]").astype(start.dtype)
            frame.attrs["log_start"] = str(np.datetime_as_string(origin, unit="s")) + "Z"
            start = (start - origin) / np.timedelta64(1, "s")
            end = (end - origin) / np.timedelta64(1, "s")
            frame["start"], frame["end"] = start, end
        if (end < start).any():
            i = int(np.argmax(end < start))
            raise _bad(path, "end", "end >= start on every row", f"row {i} ends before it starts")
    return frame


def _to_datetime(s: pd.Series, path: Path, name: str, expected: str) -> np.ndarray:
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(s):
        out = s
    else:
        try:
            out = pd.to_datetime(s, format="ISO8601", utc=True)
        except (ValueError, TypeError):
            conv = pd.to_datetime(s, format="ISO8601", utc=True, errors="coerce")
            bad = s[conv.isna() & s.notna()]
            raise _bad(path, name, expected, _example(bad)) from None
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    return out.to_numpy(dtype="datetime64[s]")
