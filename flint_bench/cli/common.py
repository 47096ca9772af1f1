"""Shared CLI pieces: output format, consoles (tables to stdout, progress and messages to stderr)."""

from __future__ import annotations

import enum
import json
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

# rich falls back to 80 columns when output is not a terminal; tables of figures need more
console = Console(width=None if sys.stdout.isatty() else 140)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 140)


class Format(str, enum.Enum):
    table = "table"
    json = "json"


FORMAT_OPTION_HELP = "table for people; json prints one JSON document and nothing else on stdout"


def print_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, indent=2, default=str) + "\n")


def rich_table(title: str | None, columns: list[str], rows: list[list[Any]]) -> Table:
    table = Table(title=title, title_justify="left")
    for c in columns:
        table.add_column(c, overflow="fold")
    for row in rows:
        table.add_row(*("-" if v is None else str(v) for v in row))
    return table


def fmt(value: float | None, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)
