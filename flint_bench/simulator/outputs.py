"""The simulator's output files, written atomically through core.fileio (an OS error there, such as a
full disk, is a UserError naming the file, and no temporary file is left)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ..core.fileio import write_atomic, write_text_atomic


def finite(value: Any) -> Any:
    """`value` with NaN and infinities as None: JSON has no such numbers; a missing figure is null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def write_json(path: Path, document: Any) -> None:
    """Strict JSON; `default=str` writes a TOML date of a config as its text."""
    write_text_atomic(path, json.dumps(finite(document), indent=2, default=str, allow_nan=False) + "\n")


def write_parquet(path: Path, rows: list[dict[str, Any]]) -> None:
    import pandas as pd

    table = pd.DataFrame(rows)
    write_atomic(path, lambda f: table.to_parquet(f, index=False))
