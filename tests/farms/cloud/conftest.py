"""Fixtures for the cloud farms: a real Appium 3 server with the flint test driver, and a loopback
HTTP server standing in for the providers' REST APIs (BrowserStack, Sauce Labs, S3 presigned URLs)."""

from __future__ import annotations

import base64
import email.parser
import email.policy
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

HERE = Path(__file__).parent
APPIUM_DIR = HERE / "appium"
APPIUM_JS = APPIUM_DIR / "node_modules" / "appium" / "index.js"
DRIVER_DIR = APPIUM_DIR / "flint-test-driver"
SECRET_USER = "flint-user-7f3a9c"
SECRET_KEY = "s3cr3t-K3y-d41d8cd98f00b204e980"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class AppiumServer:
    url: str
    log: Path
    device_root: Path

    def sessions(self) -> list:
        return requests.get(f"{self.url}/appium/sessions", timeout=10).json()["value"]


@pytest.fixture(scope="session")
def appium_server(tmp_path_factory) -> AppiumServer:
    node = shutil.which("node")
    if node is None or shutil.which("npm") is None or not APPIUM_JS.is_file():
        # appium installs the test driver with npm (a local folder, no network)
        pytest.skip("the Appium server is not installed: run .ci/install-farms-cloud.sh (needs Node.js >= 20.19 and npm)")
    home = tmp_path_factory.mktemp("appium-home")
    env = os.environ | {"APPIUM_HOME": str(home), "NO_COLOR": "1"}
    install = subprocess.run(
        [node, str(APPIUM_JS), "driver", "install", "--source=local", str(DRIVER_DIR)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    root = tmp_path_factory.mktemp("phones")
    log = home / "appium.log"
    port = free_port()
    env |= {"FLINT_TEST_DEVICE_ROOT": str(root), "FLINT_TEST_PYTHON": sys.executable}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                node,
                str(APPIUM_JS),
                "server",
                "--address",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-no-colors",
                "--log-level",
                "debug",
                "--allow-insecure",
                "*:session_discovery",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=home,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{url}/status", timeout=2).ok:
                break
        except requests.RequestException:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the Appium server did not start: {log.read_text()[-2000:]}")
        time.sleep(0.2)
    yield AppiumServer(url, log, root)
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@dataclass
class ProviderStub:
    """What the fake provider saw and holds: uploads by name, device lists, stored blobs."""

    url: str = ""
    requests: list[dict] = field(default_factory=list)
    uploads: dict[str, bytes] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)  # path -> bytes served on GET, stored on PUT
    lazy: dict[str, Callable[[], bytes]] = field(default_factory=dict)  # path -> made when first fetched
    browserstack_devices: list = field(default_factory=list)
    sauce_devices: list = field(default_factory=list)
    auth: tuple[str, str] = (SECRET_USER, SECRET_KEY)

    def reset(self) -> None:
        self.requests.clear()
        self.uploads.clear()
        self.blobs.clear()
        self.lazy.clear()


def _handler(stub: ProviderStub):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep pytest output quiet
            pass

        def _send(self, status: int, body: object | bytes) -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Content-Type", "application/octet-stream" if isinstance(body, bytes) else "application/json")
            self.end_headers()
            self.wfile.write(data)

        def _authorized(self) -> bool:
            expected = "Basic " + base64.b64encode(":".join(stub.auth).encode()).decode()
            return self.headers.get("Authorization") == expected

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _record(self, body: bytes = b"") -> None:
            stub.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body})

        def do_GET(self):
            self._record()
            if self.path in stub.lazy:
                stub.blobs[self.path] = stub.lazy.pop(self.path)()
            if self.path.startswith("/blob/"):
                return (
                    self._send(200, stub.blobs[self.path])
                    if self.path in stub.blobs
                    else self._send(404, {"error": "no such blob"})
                )
            if not self._authorized():
                return self._send(401, {"error": "Authorization required"})
            if self.path == "/app-automate/devices.json":
                return self._send(200, stub.browserstack_devices)
            if self.path == "/v1/rdc/devices":
                return self._send(200, stub.sauce_devices)
            self._send(404, {"error": f"no route {self.path}"})

        def do_PUT(self):
            body = self._body()
            self._record(body)
            if self.path.startswith("/blob/"):
                stub.blobs[self.path] = body
                return self._send(200, b"")
            self._send(404, {"error": f"no route {self.path}"})

        def do_POST(self):
            body = self._body()
            self._record(body)
            if not self._authorized():
                return self._send(401, {"error": "Invalid username or access key"})
            msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"Content-Type: " + self.headers["Content-Type"].encode() + b"\r\n\r\n" + body
            )
            parts = {p.get_param("name", header="content-disposition"): p for p in msg.iter_parts()} if msg.is_multipart() else {}
            if self.path == "/app-automate/upload" and "file" in parts:
                data = parts["file"].get_payload(decode=True)
                stub.uploads[parts["file"].get_filename()] = data
                return self._send(200, {"app_url": "bs://" + hashlib.sha1(data).hexdigest()})
            if self.path == "/v1/storage/upload" and "payload" in parts:
                data = parts["payload"].get_payload(decode=True)
                stub.uploads[parts["payload"].get_filename()] = data
                return self._send(
                    201, {"item": {"id": str(uuid.uuid4()), "name": parts["payload"].get_filename(), "size": len(data)}}
                )
            self._send(400, {"error": f"bad upload to {self.path}"})

    return Handler


@pytest.fixture(scope="session")
def _provider_server():
    stub = ProviderStub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield stub
    server.shutdown()


@pytest.fixture
def provider(_provider_server) -> ProviderStub:
    _provider_server.reset()
    return _provider_server


@pytest.fixture
def app_file(tmp_path) -> Path:
    """Stands in for the built .apk/.ipa: the test hub installs nothing, it checks the file exists."""
    path = tmp_path / "flint bench app.apk"
    path.write_bytes(b"PK\x03\x04 flint-bench test app " + os.urandom(16))
    return path


@pytest.fixture(scope="session")
def model_a():
    from flint_bench.zoo import load_models

    return load_models(["A"])


@pytest.fixture(scope="session")
def local_worker_result(model_a, tmp_path_factory) -> dict:
    """A valid result record of another run (the reference worker, run once), to leave on a phone."""
    from flint_bench.bench.worker import run
    from flint_bench.export import export_model
    from flint_bench.farms.base import BenchJob, RunSettings
    from flint_bench.runner import training_data

    folder = tmp_path_factory.mktemp("earlier-run")
    settings = RunSettings(examples=64, repeats=1, warmup_steps=1)
    artifacts = export_model(model_a[0])
    job = BenchJob("earlier-run", model_a[0], artifacts, training_data(model_a[0], settings, folder), settings)
    spec = folder / "spec.json"
    spec.write_text(json.dumps(job.spec(str(job.training_artifact), str(job.data_file))))
    result = run(spec)
    assert result["status"] == "ok", result["error"]
    return result


def pytest_collection_modifyitems(items):
    """Tests that use the real Appium server carry the `appium` marker (`-m "not appium"` leaves them out)."""
    for item in items:
        if "appium_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.appium)
