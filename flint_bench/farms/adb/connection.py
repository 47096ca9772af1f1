"""The adb server and the phones behind it: shell commands, listing and describing devices, the app."""

from __future__ import annotations

import contextlib
import shlex
import socket
import subprocess
import threading
from pathlib import Path
from typing import Any, Protocol

from ...core.contract import FailureKind
from ...core.errors import UserError
from ..base import Device
from .parsers import parse_cpu_range, parse_getprop, parse_meminfo_total_mb, parse_version_name
from .selection import device_from_props
from .settings import AdbSettings

REMOTE_APK = "/data/local/tmp/flint-bench-app.apk"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
SERVER_PROBE_S = 2.0
SERVER_START_S = 30.0


class ShellResult(Protocol):
    """What adbutils' `shell2(..., v2=True)` returns."""

    returncode: int
    output: str
    stdout: str


class AdbConnection:
    """One farm's view of the adb server (adbutils), named by its config file in messages."""

    def __init__(self, name: str, settings: AdbSettings, config_path: Path | None):
        self.name, self.settings, self.config_path = name, settings, config_path
        self.started_server = False  # this connection started the adb server: close() stops it again
        self._server_checked = False
        self._server_lock = threading.Lock()

    def ensure_server(self) -> None:
        """Start the adb server on a loopback port where none listens (on the configured port, which
        adbutils' own auto-start ignores), and remember it, so `close` leaves no server behind."""
        s = self.settings
        with self._server_lock:
            if self._server_checked:
                return
            try:
                socket.create_connection((s.server_host, s.port), timeout=SERVER_PROBE_S).close()
            except OSError as e:
                if s.server_host not in LOOPBACK:
                    raise self.server_error(e) from None
                self._start_server()
            self._server_checked = True

    def _start_server(self) -> None:
        from adbutils import AdbError, adb_path

        port = str(self.settings.port)
        try:
            done = subprocess.run(
                [adb_path(), "-P", port, "start-server"], capture_output=True, text=True, timeout=SERVER_START_S
            )
        except (OSError, subprocess.SubprocessError, AdbError) as e:
            raise self.server_error(e) from None
        if done.returncode != 0:
            raise self.server_error(RuntimeError((done.stderr or done.stdout).strip()[-300:] or f"exit code {done.returncode}"))
        self.started_server = True

    def close(self) -> None:
        """Stop the adb server if this connection started it; safe to call twice."""
        from adbutils import AdbError, adb_path

        with self._server_lock:
            if not self.started_server:
                return
            self.started_server, self._server_checked = False, False
            with contextlib.suppress(OSError, subprocess.SubprocessError, AdbError):  # else it dies with the machine
                subprocess.run(
                    [adb_path(), "-P", str(self.settings.port), "kill-server"], capture_output=True, timeout=SERVER_START_S
                )

    def client(self, timeout: float | None = None) -> Any:  # adbutils.AdbClient (adbutils ships no type information)
        """A client whose every socket read and write (sync transfers included) has a deadline: a phone
        that stops answering with its connection open raises instead of blocking the run forever."""
        from adbutils import AdbClient

        self.ensure_server()
        return AdbClient(self.settings.server_host, self.settings.port, socket_timeout=timeout or self.settings.io_timeout_s)

    def device(self, serial: str, timeout: float | None = None) -> Any:  # adbutils.AdbDevice
        return self.client(timeout).device(serial)

    def shell(self, serial: str, cmd: str, timeout: float | None = None) -> ShellResult:
        result: ShellResult = self.device(serial).shell2(cmd, timeout=timeout or self.settings.io_timeout_s, v2=True)
        return result

    def apk_path(self) -> Path | None:
        if self.settings.apk is None:
            return None
        p = Path(self.settings.apk).expanduser()
        return p if p.is_absolute() or self.config_path is None else self.config_path.parent / p

    def connect_tcp(self) -> list[str]:
        """`adb connect` every [adb].connect address; one line of outcome per address."""
        from adbutils import AdbError

        messages = []
        for addr in self.settings.connect:
            try:
                messages.append(f"{addr}: {self.client().connect(addr, timeout=10)}")
            except AdbError as e:
                messages.append(f"{addr}: {e}")
        return messages

    def server_error(self, e: Exception) -> UserError:
        s = self.settings
        return UserError(
            f"Farm '{self.name}': cannot reach the adb server at {s.server_host}:{s.port} ({e}). "
            f"Start it with `adb start-server` (adbutils ships adb; or `apt-get install adb`), or fix the server_host/server_port keys of the adb table "
            f"in {self.config_path}. Run `flint-bench farm doctor --farm {self.config_path}` for details."
        )

    def describe(self, serial: str) -> Device:
        out = self.shell(serial, "getprop; echo '@@'; cat /proc/meminfo; echo '@@'; cat /sys/devices/system/cpu/possible").stdout
        props, meminfo, cpus = ([*out.split("@@\n"), "", ""])[:3]
        return device_from_props(serial, self.name, parse_getprop(props), parse_meminfo_total_mb(meminfo), parse_cpu_range(cpus))

    def all_devices(self) -> tuple[list[Device], list[tuple[str, str]]]:
        """Every attached device in state 'device' described, plus (serial, state) of the others."""
        from adbutils import AdbError

        self.connect_tcp()
        try:
            infos = self.client().list()
        except AdbError as e:
            raise self.server_error(e) from None
        ready, other = [], []
        for info in infos:
            if info.state != "device":
                other.append((info.serial, info.state))
                continue
            try:
                ready.append(self.describe(info.serial))
            except AdbError as e:
                other.append((info.serial, f"error: {e}"))
        return ready, other

    def is_lost(self, serial: str) -> bool:
        from adbutils import AdbError

        try:
            return not any(i.serial == serial and i.state == "device" for i in self.client().list())
        except AdbError:
            return True

    def installed_version(self, serial: str) -> str | None:
        return parse_version_name(self.shell(serial, f"dumpsys package {shlex.quote(self.settings.package)}").stdout)

    def install_app(self, serial: str) -> tuple[FailureKind, str] | None:
        """Install or upgrade the app when its version differs; (failure kind, message) when it cannot."""
        s, apk = self.settings, self.apk_path()
        installed = self.installed_version(serial)
        if apk is None:
            if installed is None:
                return FailureKind.APP_MISSING, (
                    f"the benchmark app {s.package} is not installed on {serial}. Build it (device_apps/android/README.md) and set "
                    f"adb.apk and app_version in {self.config_path}, or install it with `adb -s {serial} install app.apk`."
                )
            return None
        if installed == s.app_version:
            return None
        if not apk.is_file():
            return (
                FailureKind.INSTALL,
                f"adb.apk {apk} does not exist (device {serial} has version {installed!r}, the farm wants {s.app_version!r}).",
            )
        self.device(serial).sync.push(str(apk), REMOTE_APK)
        res = self.shell(serial, f"pm install -r -t {shlex.quote(REMOTE_APK)}", timeout=s.install_timeout_s)
        self.shell(serial, f"rm -f {shlex.quote(REMOTE_APK)}")
        if "Success" not in res.output:
            return (
                FailureKind.INSTALL,
                f"installing {apk.name} on {serial} failed: {res.output.strip()[-500:] or f'exit code {res.returncode}'}",
            )
        now = self.installed_version(serial)
        if now != s.app_version:
            return (
                FailureKind.INSTALL,
                f"after installing {apk.name} on {serial} the app reports versionName {now!r}, expected adb.app_version {s.app_version!r}.",
            )
        return None
