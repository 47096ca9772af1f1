"""Shared fixtures. Each area's tests may add their own conftest.py in a sub-folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# helpers shared by several areas (records_synth.py) import as top-level modules
sys.path.insert(0, str(Path(__file__).parent))
# the tools .ci/ installs (MLflow server, actionlint) live under the real HOME: pin it now, because the adb
# fixture gives the adb server a private HOME for the rest of the session
os.environ.setdefault("FLINT_BENCH_TOOLS", str(Path.home() / ".cache" / "flint-bench-tools"))


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """Exports go to a per-session cache unless FLINT_BENCH_CACHE is set (CI can share a warm one)."""
    if "FLINT_BENCH_CACHE" not in os.environ:
        os.environ["FLINT_BENCH_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield


@pytest.fixture(scope="session")
def local_results(tmp_path_factory) -> Path:
    """A real results folder from the local farm: models A and B, 64 examples, 2 repeats."""
    from flint_bench.farms import FarmFile, open_farm
    from flint_bench.farms.base import RunSettings
    from flint_bench.farms.local import LocalSettings
    from flint_bench.runner import run_benchmarks
    from flint_bench.zoo import load_models

    out = tmp_path_factory.mktemp("results")
    with open_farm(FarmFile(kind="local", name="local", settings=LocalSettings())) as farm:
        run_benchmarks(farm, load_models(["A", "B"]), RunSettings(examples=64, repeats=2, warmup_steps=1), out)
    return out


@pytest.fixture(scope="session")
def real_records(local_results) -> list[dict]:
    from flint_bench.core.results import load_records

    records = load_records(local_results)
    assert {r["model"]["name"] for r in records} >= {"A", "B"} and all(r["status"] == "ok" for r in records)
    return records


@pytest.fixture
def cli(monkeypatch, capsys):
    """Run the real console entry point in-process; returns (exit code, stdout, stderr)."""
    from flint_bench.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["flint-bench", *map(str, args)])
        capsys.readouterr()
        try:
            main()
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def write(tmp_path):
    """Write a text file under tmp_path and return its path."""

    def _write(name: str, text: str) -> Path:
        p = tmp_path / name
        p.write_text(text)
        return p

    return _write


@pytest.fixture
def flint():
    """Run the CLI in a real subprocess (exit codes and stderr are the user's); `expect` the exit code."""
    import subprocess

    def run(*args, expect: int | None = 0):
        proc = subprocess.run(
            [sys.executable, "-m", "flint_bench.cli", *map(str, args)], cwd=REPO, capture_output=True, text=True
        )
        if expect is not None:
            assert proc.returncode == expect, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
        return proc

    return run


@pytest.fixture
def flint_json(flint):
    """The CLI's --format json document."""
    import json

    def run(*args):
        return json.loads(flint(*args, "--format", "json").stdout)

    return run
