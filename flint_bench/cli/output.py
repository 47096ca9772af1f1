"""One output handler for every command: tables for people, one JSON document for machines, and
errors in the same format the command was asked for.

    with output_handler(format) as out:
        ...
        out.result(document, render=lambda: console.print(table))

With `--format json` stdout carries exactly one JSON document: the command's result, or on a user
error `{"error": {"kind": ..., "message": ...}}`; the exit code is the same in both formats.
"""

from __future__ import annotations

import enum
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..core.errors import UserError

# rich falls back to 80 columns when output is not a terminal; tables of figures need more
console = Console(width=None if sys.stdout.isatty() else 140)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 140)


class Format(str, enum.Enum):
    table = "table"
    json = "json"


FORMAT_OPTION_HELP = "table for people; json prints one JSON document and nothing else on stdout"
MLFLOW_OPTION_HELP = (
    "also log this command as an MLflow run (params, metrics, artifacts) to MLFLOW_TRACKING_URI, experiment "
    "MLFLOW_EXPERIMENT_NAME (default flint-bench); needs the `mlflow` extra"
)


def print_json(document: Any) -> None:
    """Strict JSON (a NaN is a ValueError: a missing figure is null at its source), written only
    once the whole document has been encoded."""
    sys.stdout.write(json.dumps(document, indent=2, default=str, allow_nan=False) + "\n")


def print_error(error: UserError, format: Format = Format.table) -> None:
    if format is Format.json:
        print_json({"error": {"kind": type(error).__name__, "message": str(error), "exit_code": error.exit_code}})
    else:
        err_console.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)


class Output:
    """What a command shows: `result` once, `message` for progress and notes (stderr, table format only)."""

    def __init__(self, format: Format, quiet: bool = False):
        self.format, self.quiet = format, quiet

    @property
    def is_table(self) -> bool:
        return self.format is Format.table

    @property
    def show_progress(self) -> bool:
        return self.is_table and not self.quiet

    def result(self, document: Any, render: Callable[[], None] | None = None) -> None:
        if self.format is Format.json:
            print_json(document)
        elif render is not None:
            render()

    def message(self, text: str) -> None:
        """A line for people on stderr; user text is printed literally, never read as markup."""
        if self.show_progress:
            err_console.print(text, highlight=False, markup=False, soft_wrap=True)


@contextmanager
def output_handler(format: Format, quiet: bool = False) -> Iterator[Output]:
    try:
        yield Output(format, quiet)
    except UserError as e:
        print_error(e, format)
        raise typer.Exit(e.exit_code) from None


def rich_table(title: str | None, columns: list[str], rows: list[list[Any]]) -> Table:
    table = Table(title=title, title_justify="left")
    for c in columns:
        table.add_column(c, overflow="fold")
    for row in rows:
        table.add_row(*("-" if v is None else str(v) for v in row))
    return table


def fmt(value: float | None, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)
