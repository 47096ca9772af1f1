"""Shared fixtures. Each area's tests may add their own conftest.py in a sub-folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


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
    farm = open_farm(FarmFile(kind="local", name="local", settings=LocalSettings()))
    run_benchmarks(farm, load_models(["A", "B"]), RunSettings(examples=64, repeats=2, warmup_steps=1), out)
    return out
