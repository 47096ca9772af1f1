"""Fixtures for the report and gate tests; helpers live in rg_synth.py (importable via sys.path)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from flint_bench.results import load_records  # noqa: E402


@pytest.fixture(scope="session")
def real_records(local_results) -> list[dict]:
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
