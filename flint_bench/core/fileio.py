"""Atomic file writes and reads of user-supplied files.

A file another process (or the next run) may read is written to a temporary file with a unique name
in the same folder and renamed over the target: a reader sees the old file or the new one, never a
half-written one, and concurrent writers never share a temporary name. A failed write removes its
temporary file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from .errors import UserError


def write_atomic(path: str | Path, write: Callable[[IO[bytes]], object]) -> Path:
    """Call `write` with a binary file object; the result replaces `path` only when it returns.
    An OS error (disk full, permission denied) is a UserError naming the file."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise UserError(f"cannot write {path}: {e.strerror or e}.") from e
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise UserError(f"cannot write {path}: {e.strerror or e}.") from e
        raise
    return path


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    return write_atomic(path, lambda f: f.write(data))


def write_text_atomic(path: str | Path, text: str) -> Path:
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | Path, document: Any, *, indent: int | None = 1) -> Path:
    """Strict JSON: NaN and infinities are a ValueError (a bug at the source: a missing figure is null)."""
    return write_text_atomic(path, json.dumps(document, indent=indent, allow_nan=False) + "\n")


def read_text(path: str | Path, what: str = "file") -> str:
    """A user-supplied text file as UTF-8; a missing or undecodable file is a UserError naming it."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: {what} not found. Pass an existing file.")
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise UserError(f"{path}: not UTF-8 text (byte {e.start}: {e.reason}).") from None
    except OSError as e:
        raise UserError(f"{path}: cannot be read ({e.strerror}).") from None


def read_json(path: str | Path, what: str = "JSON file") -> Any:
    """A user-supplied JSON file; invalid JSON is a UserError naming the file and the position."""
    path = Path(path)
    text = read_text(path, what)

    def refuse(literal: str) -> None:  # Python's json reads NaN/Infinity; JSON has no such literals
        raise UserError(f"{path}: not valid JSON ('{literal}' is not a JSON number; a missing value is null).")

    try:
        return json.loads(text, parse_constant=refuse)
    except json.JSONDecodeError as e:
        raise UserError(f"{path}: not valid JSON ({e}).") from None
    except RecursionError:
        raise UserError(f"{path}: not valid JSON (nested too deeply).") from None
