"""A real MLflow tracking server on loopback (sqlite store, artifacts served by the server), started
once per session with a readiness deadline and stopped afterwards. The server is the full `mlflow`
package in its own venv (.ci/install-tracking.sh); the project's venv holds only the client."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

READY_SECONDS = 120


def server_executable() -> str | None:
    """A full MLflow (the server needs its sqlite store and handlers; mlflow-skinny has the CLI but not those)."""
    tools = Path(os.environ.get("FLINT_BENCH_TOOLS", Path.home() / ".cache" / "flint-bench-tools"))
    for candidate in (tools / "mlflow-server" / "bin" / "mlflow", Path(sys.executable).parent / "mlflow"):
        python = candidate.parent / "python"
        if candidate.is_file() and python.is_file():
            probe = [str(python), "-c", "import mlflow.server.handlers, sqlalchemy, alembic, flask"]
            if subprocess.run(probe, capture_output=True, timeout=120).returncode == 0:
                return str(candidate)
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory) -> str:
    pytest.importorskip("mlflow", reason="the MLflow client is not installed: pip install 'flint-bench[mlflow]'")
    exe = server_executable()
    if exe is None:
        pytest.skip("no MLflow tracking server: run .ci/install-tracking.sh")
    root = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    log = (root / "server.log").open("w")
    proc = subprocess.Popen(
        [
            exe,
            "server",
            "--backend-store-uri",
            f"sqlite:///{root / 'mlflow.db'}",
            "--artifacts-destination",
            str(root / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + READY_SECONDS
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"mlflow server exited {proc.returncode}: {(root / 'server.log').read_text()[-2000:]}")
            try:
                if requests.get(f"{url}/health", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"mlflow server not ready after {READY_SECONDS} s: {(root / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait(timeout=10)
        log.close()


@pytest.fixture
def tracking(mlflow_server, monkeypatch, request) -> str:
    """MLFLOW_TRACKING_URI set to the server, a fresh experiment per test."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", f"test-{request.node.name}-{time.time_ns()}")
    return mlflow_server
