"""`flint-bench farm doctor` for an adb farm: the adb binary and server, TCP phones, each device's
state, the app, its storage and the phone's conditions; every failed check says how to fix it."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from ...core.errors import UserError
from ..base import Check, Device
from .conditions import read_state, too_hot
from .connection import AdbConnection
from .selection import select

STATE_FIXES = {
    "unauthorized": "unlock the phone and accept the 'Allow USB debugging' prompt",
    "offline": "reconnect the cable, or `adb reconnect offline`",
}


def _adb_binary() -> Check:
    from adbutils import AdbError, adb_path

    try:
        exe = adb_path()
        ver = subprocess.run([exe, "version"], capture_output=True, text=True, timeout=20).stdout.splitlines()
        return Check("adb binary", True, f"{exe} ({ver[1] if len(ver) > 1 else ver[0] if ver else 'unknown version'})")
    except (OSError, subprocess.SubprocessError, AdbError) as e:
        return Check(
            "adb binary",
            False,
            f"no usable adb ({e}). `pip install adbutils` ships one; or `apt-get install adb`; or set ADBUTILS_ADB_PATH.",
        )


def _adb_server(adb: AdbConnection) -> Check:
    from adbutils import AdbError

    s = adb.settings
    try:
        version = adb.client().server_version()
        started = " (started for this command, stopped after it)" if adb.started_server else ""
        return Check("adb server", True, f"adb server protocol {version} at {s.server_host}:{s.port}{started}")
    except UserError as e:
        return Check("adb server", False, str(e))
    except (AdbError, OSError) as e:
        return Check(
            "adb server",
            False,
            f"cannot reach the adb server at {s.server_host}:{s.port} ({e}); start it with "
            f"`adb -P {s.port} start-server` or fix adb.server_host/server_port.",
        )


def doctor(adb: AdbConnection) -> list[Check]:
    checks = [_adb_binary(), _adb_server(adb)]
    if not checks[-1].ok:
        return checks
    for line in adb.connect_tcp():
        ok = "connected" in line
        message = line if ok else f"{line}: is the phone on the network with `adb tcpip 5555` enabled?"
        checks.append(Check(f"connect {line.split(':')[0]}", ok, message))
    try:
        ready, other = adb.all_devices()
    except UserError as e:
        return [*checks, Check("devices", False, str(e))]
    for serial, state in other:
        fix = STATE_FIXES.get(state, "check the connection and `adb devices -l`")
        checks.append(Check(f"device {serial}", False, f"state '{state}': {fix}"))
    chosen = select(ready, adb.settings)
    checks.append(
        Check(
            "devices",
            bool(chosen),
            f"{len(chosen)} of {len(ready)} ready devices match the adb selection filters"
            if chosen
            else f"no device matches: {len(ready)} ready ({', '.join(d.id for d in ready) or 'none'}); connect a phone with USB debugging on, "
            f"or loosen the filters in the adb table of {adb.config_path}",
        )
    )
    apk = adb.apk_path()
    if apk is not None:
        checks.append(
            Check(
                "apk",
                apk.is_file(),
                f"{apk} ({apk.stat().st_size} bytes), version {adb.settings.app_version}"
                if apk.is_file()
                else f"adb.apk {apk} does not exist; build it (device_apps/android/README.md)",
            )
        )
    for d in chosen:
        checks.extend(_doctor_device(adb, d, apk))
    return checks


def _app_check(adb: AdbConnection, d: Device, apk: Path | None) -> Check:
    s = adb.settings
    installed = adb.installed_version(d.id)
    if installed is not None and (s.app_version is None or installed == s.app_version):
        return Check(f"{d.id} app", True, f"{s.package} {installed} installed")
    if apk is not None:
        return Check(
            f"{d.id} app",
            True,
            f"{s.package} {installed or 'not installed'}; version {s.app_version} is installed on the first run",
        )
    return Check(
        f"{d.id} app", False, f"{s.package} is not installed; set adb.apk + app_version or `adb -s {d.id} install app.apk`"
    )


def _conditions_check(adb: AdbConnection, d: Device) -> Check:
    state = read_state(adb, d.id)
    hot = too_hot(state, adb.settings)
    battery = "unknown" if state.battery_percent is None else f"{state.battery_percent:g}%"
    message = f"battery {battery}, thermal {state.thermal_state or 'unknown'}"
    if hot:
        return Check(f"{d.id} conditions", False, f"{message}; {hot}: let it cool down")
    # nothing read is nothing known: not a pass
    known = state.battery_percent is not None or state.thermal_status is not None
    return Check(f"{d.id} conditions", True if known else None, message)


def _doctor_device(adb: AdbConnection, d: Device, apk: Path | None) -> list[Check]:
    from adbutils import AdbError

    q, storage = shlex.quote, adb.settings.storage
    out: list[Check] = []
    try:
        out.append(_app_check(adb, d, apk))
        probe = f"{storage}/.flint-probe"
        res = adb.shell(d.id, f"mkdir -p {q(storage)} && touch {q(probe)} && rm -f {q(probe)}")
        out.append(
            Check(
                f"{d.id} storage",
                res.returncode == 0,
                f"{storage} is writable"
                if res.returncode == 0
                else f"cannot write {storage}: {res.output.strip()[:200]}; set adb.storage_dir to a folder the app and adb can both use",
            )
        )
        out.append(_conditions_check(adb, d))
    except AdbError as e:
        out.append(Check(f"{d.id}", False, f"adb error: {e}; check the connection"))
    return out
