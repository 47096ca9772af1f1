"""Joining a running Ray cluster: `ray start --head`, then `simulate --backend ray --ray-address auto`
gives the numbers of the local backend (worker processes) for the same seed."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from .helpers import raw_config
from .test_cli import cli, toml_dump


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_simulate_joins_a_running_cluster_with_ray_address_auto(tmp_path: Path):
    pytest.importorskip("ray", reason="ray is not installed (pip install 'flint-bench[ray]')")
    ray_cli = Path(sys.executable).parent / "ray"
    if not ray_cli.exists() and shutil.which("ray") is None:
        pytest.skip("the `ray` command is not installed")
    raw = raw_config(
        "fedbuff",
        sim={"train": True, "max_aggregations": 8, "eval_every": 4, "executors": 2},
        population={"classes": [{"name": "t", "per_example_s": {"median": 1.0, "sigma": 1.0}}]},
    )
    cfg_file = toml_dump(raw, tmp_path / "sim.toml")
    local = cli("--config", str(cfg_file), "--format", "json", timeout=300)
    assert local.returncode == 0, local.stderr
    # `auto` finds the cluster registered in Ray's temp dir: a private one, so that two test runs at once (two
    # checkouts, CI beside a developer) never join each other's head. Short: Ray's socket paths live under it.
    ray_tmp = tempfile.mkdtemp(prefix="flray", dir="/tmp")
    env = {**os.environ, "RAY_TMPDIR": ray_tmp}
    # --block keeps the head in the foreground: stopping this process group stops the cluster we started
    head = subprocess.Popen(
        [str(ray_cli), "start", "--head", "--block", "--num-cpus", "2", "--port", str(free_port()), "--include-dashboard=false"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 120
        while True:  # the head writes its address where `auto` finds it
            joined = cli(
                "--config", str(cfg_file), "--backend", "ray", "--ray-address", "auto", "--format", "json", timeout=300, env=env
            )
            if joined.returncode == 0 or time.monotonic() > deadline or head.poll() is not None:
                break
            time.sleep(3)
        assert joined.returncode == 0, joined.stderr
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait(10)
        shutil.rmtree(ray_tmp, ignore_errors=True)
    a, b = json.loads(local.stdout), json.loads(joined.stdout)
    assert b["backend"] == "ray"
    for key in ("virtual_hours", "tasks_started", "tasks_stale", "aggregations", "final_metric", "final_loss"):
        assert b["metrics"][key] == a["metrics"][key]  # same partitions, same order of the sum: bit for bit
    # --ray-address without the ray backend is a usage error
    r = cli("--config", str(cfg_file), "--ray-address", "auto")
    assert r.returncode == 2 and "--backend ray" in r.stderr


def test_an_address_where_no_cluster_answers_is_a_usage_error_not_a_wait(tmp_path: Path):
    """ray.init waits minutes on an address where nothing listens; the simulator checks the head first."""
    pytest.importorskip("ray", reason="ray is not installed (pip install 'flint-bench[ray]')")
    cfg_file = toml_dump(raw_config("fedbuff", sim={"train": True, "max_aggregations": 2}), tmp_path / "sim.toml")
    port = free_port()  # closed again: nothing listens there
    started = time.monotonic()
    r = cli("--config", str(cfg_file), "--backend", "ray", "--ray-address", f"127.0.0.1:{port}", timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"--ray-address '127.0.0.1:{port}': nothing answers at" in r.stderr and "ray start --head" in r.stderr
    assert time.monotonic() - started < 60
