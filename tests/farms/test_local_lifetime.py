"""The local farm's worker never outlives its run, and temp folders of dead runs are cleaned up."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
import time

import psutil
import pytest

from flint_bench.farms.local import LocalFarm, LocalSettings

# A run that starts one benchmark worker through the farm; the spec is a FIFO nobody writes, so the
# worker blocks reading it and stays alive until something kills it.
RUN = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from flint_bench.farms.local import DeviceClass, LocalFarm, LocalSettings

    folder = Path(sys.argv[1])
    os.mkfifo(folder / "spec.json")
    LocalFarm("lab", LocalSettings())._run_worker(folder / "spec.json", folder / "result.json", DeviceClass("x"), 600)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_the_worker_dies_with_its_run_even_on_kill9(tmp_path):
    run = subprocess.Popen([sys.executable, "-c", RUN, str(tmp_path)])
    worker = None
    try:
        deadline = time.monotonic() + 60
        while not (children := psutil.Process(run.pid).children()):
            assert run.poll() is None and time.monotonic() < deadline, "the run never started its worker"
            time.sleep(0.05)
        (worker,) = children
        run.kill()
        run.wait(10)
        _, alive = psutil.wait_procs([worker], timeout=3)
        assert not alive, "the worker outlived its run"
    finally:
        run.kill()
        if worker is not None and worker.is_running():
            worker.kill()


def test_temp_folders_of_dead_runs_are_removed_at_start(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    dead = tmp_path / f"flint-local-{finished.pid}-abc123"
    live = tmp_path / f"flint-local-{os.getpid()}-def456"
    other = tmp_path / "flint-local-notapid"
    for folder in (dead, live, other):
        folder.mkdir()
        (folder / "model.pte").write_bytes(b"x")
    LocalFarm("lab", LocalSettings())
    assert not dead.exists() and live.exists() and other.exists()
