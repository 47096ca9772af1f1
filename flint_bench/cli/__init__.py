"""The thin CLI. Every module in this folder with a `register(app)` adds its commands; the logic
lives in the library. User errors (flint_bench.core.errors.UserError) print one paragraph, exit 2."""

from __future__ import annotations

import importlib
import logging
import os
import pkgutil
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

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name != "output" and not _info.name.startswith("_"):
        _module = importlib.import_module(f"{__name__}.{_info.name}")
        if hasattr(_module, "register"):
            _module.register(app)


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
