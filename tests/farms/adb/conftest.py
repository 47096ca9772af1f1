"""Fixtures for the adb farm tests: a private real adb server and three test phones connected to it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import fake_device
from fake_device import APP, make_apk


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def adb_server(tmp_path_factory):
    """The real adb server (adbutils' binary, else Debian's) on a private port with a private HOME."""
    exe = fake_device.adb_binary()
    if exe is None:
        pytest.skip(
            "no adb binary: adbutils ships one (pip install adbutils) or `apt-get install adb`; see .ci/install-farms-adb.sh"
        )
    saved = {k: os.environ.get(k) for k in ("ANDROID_ADB_SERVER_PORT", "HOME", "ADBUTILS_ADB_PATH")}
    home = tmp_path_factory.mktemp("adb-home")
    port = free_port()
    os.environ.update(ANDROID_ADB_SERVER_PORT=str(port), HOME=str(home), ADBUTILS_ADB_PATH=exe)
    out = subprocess.run([exe, "start-server"], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        pytest.skip(f"the adb server does not start here: {out.stderr.strip()}")
    yield port
    subprocess.run([exe, "kill-server"], capture_output=True, timeout=30)
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture
def phones(adb_server, tmp_path):
    """Three test phones (Pixel 7 / Android 14, Galaxy A51 / 13, Redmi 9A / 10) connected with `adb connect`."""
    made = [fake_device.FakePhone(tmp_path / f"phone{i}", props) for i, props in enumerate(fake_device.PHONES)]
    for p in made:
        fake_device.connect(p)
    yield made
    for p in made:
        p.stop()
        fake_device.adb("disconnect", p.serial)


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return json.dumps(v)  # a JSON string is a valid TOML basic string


@pytest.fixture
def farm_file(tmp_path, phones, adb_server):
    """Write an adb farm config for the test phones; keyword arguments override [adb] keys."""

    def write(run: dict | None = None, **adb) -> Path:
        apk = make_apk(tmp_path / "app.apk")
        table = {
            "server_port": adb_server,
            "serials": [p.serial for p in phones],
            "apk": str(apk),
            "app_version": APP["versionName"],
            "poll_interval_s": 0.2,
            "sample_hz": 4.0,
            "pss_interval_s": 0.5,
        } | adb
        table = {k: v for k, v in table.items() if v is not None}
        run = {"examples": 64, "repeats": 1, "warmup_steps": 1, "timeout_s": 120} | (run or {})
        text = 'kind = "adb"\nname = "test-lab"\n\n[run]\n' + "".join(f"{k} = {toml_value(v)}\n" for k, v in run.items())
        text += "\n[adb]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in table.items())
        path = tmp_path / "adb-test.toml"
        path.write_text(text)
        return path

    return write


def pytest_collection_modifyitems(items):
    """Tests that use the real adb server carry the `adb` marker (`-m "not adb"` leaves them out)."""
    for item in items:
        if "adb_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.adb)
