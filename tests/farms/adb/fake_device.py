"""A test "phone": speaks the adb *device* protocol over TCP so the real adb server can `adb connect` it.

Transport: CNXN (answered directly, no AUTH), OPEN / OKAY / WRTE / CLSE with per-stream flow control.
Services: `shell:` (v1), `shell,v2,...:` (stdout/stderr/exit packets), `exec:`, and `sync:` (STAT, LIST,
SEND, RECV, QUIT). Shell commands run in a real /bin/sh, so an unquoted `$(...)` in a command really
would execute; device paths (/sdcard, /data, /storage, /proc/meminfo, cpu info) live under a
per-phone root folder. Android tools (getprop, dumpsys, pm, am, pidof) are `fakedroid.py`, which
emulates the benchmark app: `am start` runs the reference benchmark (flint_bench.bench.worker) on the
pushed spec and writes the result where the app would.

Run standalone for a demo: `python tests/farms/adb/fake_device.py --phones 3` (prints the ports).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

A_CNXN, A_OPEN, A_OKAY, A_WRTE, A_CLSE, A_AUTH = (
    struct.unpack("<I", c)[0] for c in (b"CNXN", b"OPEN", b"OKAY", b"WRTE", b"CLSE", b"AUTH")
)
VERSION = 0x01000001  # skips checksums on the host side
MAX_PAYLOAD = 256 * 1024
HERE = Path(__file__).resolve().parent

# device path prefixes that live in the phone's root folder (everything else is the host's, e.g. /proc/<pid>)
MAPPED = ("/sdcard", "/data", "/storage", "/proc/meminfo", "/sys/devices/system/cpu")
_MAP_RE = re.compile(r"(?<![\w/.])(" + "|".join(re.escape(p) for p in MAPPED) + r")(?=[/\s'\";|&)]|$)")

PHONES = [
    {
        "ro.product.manufacturer": "Google",
        "ro.product.model": "Pixel 7",
        "ro.product.name": "panther",
        "ro.product.device": "panther",
        "ro.soc.model": "GS201",
        "ro.build.version.release": "14",
        "ro.build.version.sdk": "34",
        "ro.product.cpu.abi": "arm64-v8a",
        "_cores": 8,
        "_mem_kb": 7_833_000,
        "_battery": 81,
        "_thermal": 0,
        "_freq_khz": [1803000, 1803000, 1803000, 1803000, 2348000, 2348000, 2850000, 2850000],
    },
    {
        "ro.product.manufacturer": "samsung",
        "ro.product.model": "SM-A515F",
        "ro.product.name": "a51nsxx",
        "ro.product.device": "a51",
        "ro.soc.model": "Exynos9611",
        "ro.build.version.release": "13",
        "ro.build.version.sdk": "33",
        "ro.product.cpu.abi": "arm64-v8a",
        "_cores": 8,
        "_mem_kb": 3_700_000,
        "_battery": 64,
        "_thermal": 1,
    },
    {
        "ro.product.manufacturer": "Xiaomi",
        "ro.product.model": "Redmi 9A",
        "ro.product.name": "dandelion",
        "ro.product.device": "dandelion",
        "ro.board.platform": "mt6762",
        "ro.build.version.release": "10",
        "ro.build.version.sdk": "29",
        "ro.product.cpu.abi": "armeabi-v7a",
        "_cores": 8,
        "_mem_kb": 1_900_000,
        "_battery": 47,
        "_thermal": 0,
    },
]


APP = {"package": "org.flint.bench", "versionName": "1.2.0", "activity": ".BenchmarkActivity"}


def make_apk(path: Path, version: str = APP["versionName"], broken: bool = False) -> Path:
    """A test APK the test phones' `pm install` understands (a zip with flint-test-app.json)."""
    if broken:
        path.write_bytes(b"this is not an apk")
    else:
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("flint-test-app.json", json.dumps(APP | {"versionName": version}))
    return path


class Stream:
    """One adb stream (a service opened by the host), with the device's side of flow control."""

    def __init__(self, conn: Connection, local_id: int, remote_id: int):
        self.conn, self.local_id, self.remote_id = conn, local_id, remote_id
        self.inbox: queue.Queue[bytes | None] = queue.Queue()
        self.buffer = b""
        self.can_send = threading.Event()
        self.can_send.set()
        self.closed = False

    def write(self, data: bytes) -> None:
        for i in range(0, len(data), self.conn.max_payload):
            if not self.can_send.wait(30) or self.closed:
                raise ConnectionError("host stopped reading")
            self.can_send.clear()
            self.conn.send(A_WRTE, self.local_id, self.remote_id, data[i : i + self.conn.max_payload])

    def read_exact(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.inbox.get()
            if chunk is None:
                raise EOFError
            self.buffer += chunk
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.conn.send(A_CLSE, self.local_id, self.remote_id)


class Connection:
    def __init__(self, phone: FakePhone, sock: socket.socket):
        self.phone, self.sock = phone, sock
        self.lock = threading.Lock()
        self.streams: dict[int, Stream] = {}
        self.next_id = 1
        self.max_payload = 4096

    def send(self, cmd: int, arg0: int, arg1: int, data: bytes = b"") -> None:
        if self.phone.frozen:
            return  # a frozen phone answers nothing, yet keeps the connection open
        header = struct.pack("<6I", cmd, arg0, arg1, len(data), sum(data) & 0xFFFFFFFF, cmd ^ 0xFFFFFFFF)
        with self.lock:
            self.sock.sendall(header + data)

    def _recv_exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def serve(self) -> None:
        try:
            while True:
                cmd, arg0, arg1, length, _check, magic = struct.unpack("<6I", self._recv_exact(24))
                if magic != cmd ^ 0xFFFFFFFF:
                    raise EOFError("bad magic")
                data = self._recv_exact(length) if length else b""
                if not self.phone.frozen:
                    self.dispatch(cmd, arg0, arg1, data)
        except (EOFError, OSError):
            pass
        finally:
            for s in list(self.streams.values()):
                s.closed = True
                s.can_send.set()
                s.inbox.put(None)
            with contextlib.suppress(OSError):
                self.sock.close()

    def dispatch(self, cmd: int, arg0: int, arg1: int, data: bytes) -> None:
        if cmd == A_CNXN:
            self.max_payload = min(arg1, MAX_PAYLOAD)
            self.send(A_CNXN, VERSION, MAX_PAYLOAD, self.phone.banner().encode())
        elif cmd == A_OPEN:
            local_id, self.next_id = self.next_id, self.next_id + 1
            service = data.rstrip(b"\0").decode()
            handler = self.phone.handler(service)
            if handler is None:
                self.send(A_CLSE, 0, arg0)
                return
            stream = Stream(self, local_id, arg0)
            self.streams[local_id] = stream
            self.send(A_OKAY, local_id, arg0)
            threading.Thread(target=self._run, args=(handler, stream), daemon=True).start()
        elif cmd == A_OKAY:
            if (s := self.streams.get(arg1)) is not None:
                s.can_send.set()
        elif cmd == A_WRTE:
            if (s := self.streams.get(arg1)) is not None:
                s.inbox.put(data)
                self.send(A_OKAY, arg1, arg0)
        elif cmd == A_CLSE and (s := self.streams.pop(arg1, None)) is not None:
            s.inbox.put(None)
            if not s.closed:
                s.closed = True
                self.send(A_CLSE, arg1, arg0)
            s.can_send.set()

    def _run(self, handler, stream: Stream) -> None:
        try:
            handler(stream)
        except (EOFError, ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(OSError):
                stream.close()


class FakePhone:
    """One test phone: a TCP listener on 127.0.0.1, a root folder, props and behaviour switches.

    behaviour: "ok" (default), "no-result" (the app never writes a result), "malformed" (it writes
    broken JSON), "disconnect" (the phone drops off the network `drop_after_s` after `am start`),
    "freeze" (`drop_after_s` after `am start` it stops answering anything, its connections left open).
    """

    def __init__(self, root: Path, props: dict, behaviour: str = "ok", drop_after_s: float = 1.0):
        self.root = Path(root)
        self.props = {k: v for k, v in props.items() if not k.startswith("_")}
        self.behaviour, self.drop_after_s = behaviour, drop_after_s
        self._setup(props)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(4)
        self.port = self.listener.getsockname()[1]
        self.serial = f"127.0.0.1:{self.port}"
        self.connections: list[Connection] = []
        self.shell_log: list[str] = []  # every command the host ran (for the quoting tests)
        self.dead = False
        self.frozen = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _setup(self, props: dict) -> None:
        for d in ("sdcard", "data/local/tmp", "storage", "proc", "sys/devices/system/cpu", "bin", "state"):
            (self.root / d).mkdir(parents=True, exist_ok=True)
        (self.root / "proc/meminfo").write_text(
            f"MemTotal:       {props.get('_mem_kb', 4_000_000)} kB\nMemFree:         1000000 kB\n"
        )
        (self.root / "sys/devices/system/cpu/possible").write_text(f"0-{props.get('_cores', 8) - 1}\n")
        for core, khz in enumerate(props.get("_freq_khz", [])):  # only where the phone exposes cpufreq
            (self.root / f"sys/devices/system/cpu/cpu{core}/cpufreq").mkdir(parents=True, exist_ok=True)
            (self.root / f"sys/devices/system/cpu/cpu{core}/cpufreq/scaling_cur_freq").write_text(f"{khz}\n")
        (self.root / "state/props.json").write_text(json.dumps(self.props))
        (self.root / "state/device.json").write_text(
            json.dumps({"battery": props.get("_battery", 80), "thermal": props.get("_thermal", 0), "python": sys.executable})
        )
        # a phone on the bench sleeps behind a swipe lock: the app only runs once the host wakes and unlocks it
        (self.root / "state/screen.json").write_text(json.dumps({"awake": False, "locked": True}))
        (self.root / "state/packages.json").exists() or (self.root / "state/packages.json").write_text("{}")
        for tool in ("getprop", "dumpsys", "pm", "am", "pidof", "cmd", "input", "wm"):
            link = self.root / "bin" / tool
            if not link.exists():
                link.write_text(f'#!/bin/sh\nexec {sys.executable} {HERE / "fakedroid.py"} {tool} "$@"\n')
                link.chmod(0o755)

    def set_behaviour(self, behaviour: str) -> None:
        self.behaviour = behaviour
        (self.root / "state/behaviour").write_text(behaviour)

    def banner(self) -> str:
        p = self.props
        return (
            f"device::ro.product.name={p.get('ro.product.name', '')};ro.product.model={p.get('ro.product.model', '')};"
            f"ro.product.device={p.get('ro.product.device', '')};features=shell_v2,cmd"
        )

    def _accept(self) -> None:
        while not self.dead:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            if self.dead:
                sock.close()
                return
            conn = Connection(self, sock)
            self.connections.append(conn)
            threading.Thread(target=conn.serve, daemon=True).start()

    def disconnect(self) -> None:
        """Vanish from the network: close the listener and every connection (adb sees the device go offline)."""
        self.dead = True
        for s in [self.listener] + [c.sock for c in self.connections]:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def freeze(self) -> None:
        """Hang: read and ignore every packet, answer none, close nothing (the adb server still lists the phone)."""
        self.frozen = True

    def stop(self) -> None:
        self.disconnect()
        pid_file = self.root / "state/app.pid"
        if pid_file.is_file():
            with contextlib.suppress(OSError, ValueError):
                os.killpg(int(pid_file.read_text()), signal.SIGKILL)

    # ---- services -------------------------------------------------------------------------
    def map_path(self, path: str) -> str:
        return _MAP_RE.sub(lambda m: str(self.root) + m.group(1), path)

    def handler(self, service: str):
        if self.dead:
            return None
        if service.startswith("shell,") or service.startswith("shell:") or service.startswith("exec:"):
            head, _, command = service.partition(":")
            return lambda s: self._shell(s, command, v2="v2" in head.split(","))
        if service == "sync:":
            return self._sync
        return None

    def _shell(self, stream: Stream, command: str, v2: bool) -> None:
        self.shell_log.append(command)
        env = {
            "PATH": f"{self.root / 'bin'}:/usr/bin:/bin",
            "FAKE_ROOT": str(self.root),
            "HOME": str(self.root / "data/local/tmp"),
            "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
            "FLINT_BENCH_CACHE": os.environ.get("FLINT_BENCH_CACHE", ""),
        }
        proc = subprocess.run(["/bin/sh", "-c", self.map_path(command)], cwd=self.root, env=env, capture_output=True, timeout=120)
        if "am start" in command and self.behaviour in ("disconnect", "freeze"):
            threading.Timer(self.drop_after_s, self.disconnect if self.behaviour == "disconnect" else self.freeze).start()
        if v2:
            for kind, data in ((1, proc.stdout), (2, proc.stderr)):
                if data:
                    stream.write(bytes([kind]) + struct.pack("<I", len(data)) + data)
            stream.write(bytes([3]) + struct.pack("<I", 1) + bytes([proc.returncode & 0xFF]))
        else:
            stream.write(proc.stdout + proc.stderr)

    def _sync(self, stream: Stream) -> None:
        while True:
            cmd, length = struct.unpack("<4sI", stream.read_exact(8))
            if cmd == b"QUIT":
                return
            arg = stream.read_exact(length).decode()
            if cmd == b"STAT":
                try:
                    st = os.stat(self.map_path(arg))
                    stream.write(b"STAT" + struct.pack("<3I", st.st_mode, st.st_size & 0xFFFFFFFF, int(st.st_mtime)))
                except OSError:
                    stream.write(b"STAT" + struct.pack("<3I", 0, 0, 0))
            elif cmd == b"LIST":
                folder = Path(self.map_path(arg))
                out = b""
                for entry in sorted(folder.iterdir()) if folder.is_dir() else []:
                    st = entry.stat()
                    name = entry.name.encode()
                    out += b"DENT" + struct.pack("<4I", st.st_mode, st.st_size & 0xFFFFFFFF, int(st.st_mtime), len(name)) + name
                stream.write(out + b"DONE" + struct.pack("<4I", 0, 0, 0, 0))
            elif cmd == b"SEND":
                path, _, mode = arg.rpartition(",")
                data = b""
                while True:
                    kind, n = struct.unpack("<4sI", stream.read_exact(8))
                    if kind == b"DONE":
                        break
                    data += stream.read_exact(n)
                target = Path(self.map_path(path))
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(data)
                    target.chmod(int(mode) & 0o777 if mode else 0o644)
                    stream.write(b"OKAY" + struct.pack("<I", 0))
                except OSError as e:
                    msg = f"couldn't create file: {e.strerror}".encode()
                    stream.write(b"FAIL" + struct.pack("<I", len(msg)) + msg)
            elif cmd == b"RECV":
                target = Path(self.map_path(arg))
                if not target.is_file():
                    msg = b"No such file or directory"
                    stream.write(b"FAIL" + struct.pack("<I", len(msg)) + msg)
                    continue
                data = target.read_bytes()
                for i in range(0, len(data), 64 * 1024):
                    chunk = data[i : i + 64 * 1024]
                    stream.write(b"DATA" + struct.pack("<I", len(chunk)) + chunk)
                stream.write(b"DONE" + struct.pack("<I", 0))
            else:
                msg = f"unknown sync command {cmd!r}".encode()
                stream.write(b"FAIL" + struct.pack("<I", len(msg)) + msg)
                return


def adb_binary() -> str | None:
    """The adb that adbutils ships, else one on PATH (Debian's `adb` package)."""
    try:
        import adbutils

        path = Path(adbutils.__file__).parent / "binaries" / "adb"
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    except ImportError:
        pass
    return shutil.which("adb")


def adb(*args: str, timeout: float = 30) -> str:
    out = subprocess.run([adb_binary(), *args], capture_output=True, text=True, timeout=timeout)
    return out.stdout + out.stderr


def connect(phone: FakePhone, timeout: float = 20) -> None:
    """`adb connect` the phone and wait until the adb server lists it as 'device'."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        adb("connect", phone.serial)
        if f"{phone.serial}\tdevice" in adb("devices"):
            return
        time.sleep(0.3)
    raise RuntimeError(f"adb never listed {phone.serial} as a device: {adb('devices')}")


if __name__ == "__main__":
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phones", type=int, default=3)
    parser.add_argument("--root", type=Path, default=None)
    args = parser.parse_args()
    base = args.root or Path(tempfile.mkdtemp(prefix="fake-phones-"))
    phones = [FakePhone(base / f"phone{i}", PHONES[i % len(PHONES)]) for i in range(args.phones)]
    for p in phones:
        connect(p)
        print(p.serial, p.props["ro.product.model"], flush=True)
    try:
        signal.pause()
    except KeyboardInterrupt:
        for p in phones:
            p.stop()
