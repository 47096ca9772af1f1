"""The thin CLI. Every module in this folder with a `register(app)` adds its commands; the logic
lives in the library. User errors (flint_bench.core.errors.UserError) print one paragraph, exit 2."""

from __future__ import annotations

import importlib
import inspect
import logging
import os
import pkgutil
import re
import sys
import warnings

import typer

from ..core.errors import UserError
from .output import err_console, print_error

app = typer.Typer(
    name="flint-bench",
    help="On-device training benchmarks, device farms, eligibility rules and an FL simulator.",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        from .. import __version__

        print(f"flint-bench {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(False, "--version", "-V", callback=_version, is_eager=True, help="print the version and exit"),
) -> None:
    """On-device training benchmarks, device farms, eligibility rules and an FL simulator."""


def unwrap(text: str) -> str:
    """A docstring's paragraphs each on one line: the help formatter wraps them to the terminal, and
    a hard line break kept from the source would cut a sentence mid-way."""
    return "\n\n".join(re.sub(r"\s*\n\s*", " ", p.strip()) for p in re.split(r"\n\s*\n", inspect.cleandoc(text)) if p.strip())


def _unwrap_help(group: typer.Typer) -> None:
    """Every command's help from its docstring, unwrapped (typer reads `help` before the docstring)."""
    for info in group.registered_commands:
        if info.help is None and info.callback is not None and info.callback.__doc__:
            info.help = unwrap(info.callback.__doc__)
    for sub in group.registered_groups:
        if sub.typer_instance is not None:
            _unwrap_help(sub.typer_instance)


for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name != "output" and not _info.name.startswith("_"):
        _module = importlib.import_module(f"{__name__}.{_info.name}")
        if hasattr(_module, "register"):
            _module.register(app)
_unwrap_help(app)


def quiet_libraries() -> None:
    """torch, torchao and executorch warn loudly about experimental APIs and optional CUDA kernels;
    none of it is actionable for a user. FLINT_BENCH_DEBUG=1 keeps it."""
    if os.environ.get("FLINT_BENCH_DEBUG"):
        return
    warnings.filterwarnings("ignore")
    os.environ.setdefault("PYTHONWARNINGS", "ignore")  # inherited by worker processes
    for name in ("torch", "torchao", "executorch"):
        logging.getLogger(name).setLevel(logging.ERROR)


def main() -> None:
    quiet_libraries()
    try:
        app()
    except UserError as e:
        print_error(e)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted: results written so far are kept; `--resume` continues.")
        sys.exit(130)
