"""Android emulators through the Android SDK: list AVDs, boot them headless, stop them.

A booted emulator is an ordinary adb device (serial emulator-<console port>), so the `adb` farm runs
on it unchanged (set `emulator = true` in [adb] to select only emulators).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...core.errors import UserError
from .settings import AdbSettings

INSTALL_HINT = (
    "Install the Android SDK command-line tools (https://developer.android.com/studio#command-tools), then "
    '`sdkmanager "emulator" "platform-tools" "system-images;android-34;google_apis;x86_64"` and '
    '`avdmanager create avd -n pixel34 -k "system-images;android-34;google_apis;x86_64" -d pixel_7`, '
    "and set ANDROID_HOME to the SDK folder. The emulator needs /dev/kvm on Linux."
)


@dataclass
class Sdk:
    root: Path
    emulator: Path
    avdmanager: Path | None

    @classmethod
    def find(cls, environ: Mapping[str, str] | None = None) -> Sdk:
        env = os.environ if environ is None else environ
        candidates = [(name, env.get(name)) for name in ("ANDROID_HOME", "ANDROID_SDK_ROOT")]
        for name, value in candidates:
            if not value:
                continue
            root = Path(value).expanduser()
            emulator = root / "emulator" / "emulator"
            if not emulator.is_file():
                raise UserError(
                    f"{name}={value} has no emulator/emulator. Install it with `sdkmanager emulator` "
                    f"(or point {name} at the SDK folder). {INSTALL_HINT}"
                )
            avdmanager = next(
                (p for p in (root / "cmdline-tools/latest/bin/avdmanager", root / "tools/bin/avdmanager") if p.is_file()), None
            )
            return cls(root, emulator, avdmanager)
        on_path = shutil.which("emulator", path=env.get("PATH"))
        if on_path:
            path = Path(on_path).resolve()
            return cls(path.parent.parent, path, None)
        raise UserError(
            f"The Android SDK emulator was not found: ANDROID_HOME and ANDROID_SDK_ROOT are not set and `emulator` is not on PATH. {INSTALL_HINT}"
        )

    def list_avds(self) -> list[str]:
        out = subprocess.run([str(self.emulator), "-list-avds"], capture_output=True, text=True, timeout=60)
        # newer emulators print INFO lines too; AVD names never contain spaces or '|'
        return [line.strip() for line in out.stdout.splitlines() if line.strip() and " " not in line.strip() and "|" not in line]

    def create_avd(self, name: str, image: str, device: str | None = None) -> str:
        """`avdmanager create avd` (the system image must be installed: `sdkmanager "<image>"`)."""
        if self.avdmanager is None:
            raise UserError(
                f"avdmanager was not found under {self.root} (cmdline-tools/latest/bin). Install the SDK command-line tools: "
                f'`sdkmanager "cmdline-tools;latest"`. {INSTALL_HINT}'
            )
        cmd = [str(self.avdmanager), "create", "avd", "-n", name, "-k", image, *(["-d", device] if device else [])]
        # avdmanager asks whether to create a custom hardware profile: answer no
        out = subprocess.run(cmd, input="no\n", capture_output=True, text=True, timeout=300)
        if out.returncode != 0:
            raise UserError(
                f"`avdmanager create avd -n {name} -k {image}` failed: {(out.stderr or out.stdout).strip()[-800:]} "
                f'(is the image installed? `sdkmanager "{image}"`)'
            )
        return out.stdout.strip()

    def command(self, avd: str, port: int, settings: AdbSettings) -> list[str]:
        e = settings.emulators
        return [str(self.emulator), "-avd", avd, "-port", str(port), *(["-no-window"] if e.headless else []), *e.extra_args]

    def start(
        self, avds: list[str], settings: AdbSettings, wait: bool = True, log: Callable[[str], None] = lambda m: None
    ) -> list[dict]:
        known = self.list_avds()
        missing = [a for a in avds if a not in known]
        if missing:
            raise UserError(
                f"AVD(s) {missing} do not exist in {self.root} (known: {known or 'none'}). Create one with "
                f'`avdmanager create avd -n {missing[0]} -k "system-images;android-34;google_apis;x86_64"`.'
            )
        running = set(_running_emulators(settings))
        logs = Path(os.environ.get("FLINT_BENCH_CACHE", "~/.cache/flint-bench")).expanduser() / "emulators"
        logs.mkdir(parents=True, exist_ok=True)
        started, port = [], settings.emulators.first_port
        for avd in avds:
            while f"emulator-{port}" in running or _port_busy(port) or _port_busy(port + 1):
                port += 2
                if port > 5682:
                    raise UserError(
                        "No free emulator port pair in 5554..5683; stop some emulators first (`flint-bench farm emulators stop`)."
                    )
            log_path = logs / f"{avd}-{port}.log"
            with log_path.open("ab") as f:
                proc = subprocess.Popen(
                    self.command(avd, port, settings),
                    stdout=f,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            log(f"started {avd} as emulator-{port} (pid {proc.pid}, log {log_path})")
            started.append(
                {"avd": avd, "serial": f"emulator-{port}", "pid": proc.pid, "log": str(log_path), "booted": False, "_proc": proc}
            )
            port += 2
        if wait:
            for s in started:
                s["booted"] = _wait_booted(s, settings, log)
        for s in started:
            s.pop("_proc")
        return started


def _port_busy(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _client(settings: AdbSettings) -> Any:  # adbutils.AdbClient (untyped)
    from adbutils import AdbClient

    return AdbClient(settings.server_host, settings.port)


def _running_emulators(settings: AdbSettings) -> list[str]:
    from adbutils import AdbError

    try:
        return [i.serial for i in _client(settings).list() if i.serial.startswith("emulator-")]
    except AdbError as e:
        raise UserError(
            f"Cannot reach the adb server at {settings.server_host}:{settings.port} ({e}); start it with `adb start-server`."
        ) from None


def _wait_booted(s: dict, settings: AdbSettings, log: Callable[[str], None]) -> bool:
    from adbutils import AdbError

    deadline = time.monotonic() + settings.emulators.boot_timeout_s
    while time.monotonic() < deadline:
        if s["_proc"].poll() is not None:
            tail = Path(s["log"]).read_text(errors="replace")[-1500:].strip()
            raise UserError(
                f"The emulator for AVD {s['avd']} exited with code {s['_proc'].returncode} before booting. Last log lines:\n{tail}\n"
                f"Common causes: no /dev/kvm (enable hardware virtualisation), a missing system image (sdkmanager)."
            )
        try:
            if _client(settings).device(s["serial"]).shell("getprop sys.boot_completed", timeout=10).strip() == "1":
                log(f"{s['serial']} booted")
                return True
        except AdbError:
            pass  # not listed yet, or still offline while booting
        time.sleep(2)
    log(f"{s['serial']} did not finish booting within boot_timeout_s = {settings.emulators.boot_timeout_s:g} s")
    return False


def stop(settings: AdbSettings, serials: list[str] | None = None) -> list[str]:
    from adbutils import adb_path

    targets = serials or _running_emulators(settings)
    bad = [s for s in targets if not s.startswith("emulator-")]
    if bad:
        raise UserError(f"{bad} are not emulators (serials look like emulator-5554); unplug phones instead.")
    port = str(settings.port)
    stopped = []
    for serial in targets:
        out = subprocess.run(
            [adb_path(), "-H", settings.server_host, "-P", port, "-s", serial, "emu", "kill"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if out.returncode == 0:
            stopped.append(serial)
        else:
            raise UserError(f"`adb -s {serial} emu kill` failed: {(out.stderr or out.stdout).strip()}")
    return stopped
