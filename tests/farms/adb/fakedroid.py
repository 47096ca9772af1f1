"""The Android tools of a test phone (getprop, dumpsys, pm, am, pidof, cmd), with Android's output formats.

`am start` emulates the benchmark app: it runs the reference benchmark (flint_bench.bench.worker) on
the pushed spec, detached like an app process, and the worker writes the result where the app would.
State lives in $FAKE_ROOT/state. A test "APK" is a zip holding flint-test-app.json
({"package", "versionName", "activity"}); anything else fails to install like a broken APK.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(os.environ["FAKE_ROOT"])
STATE = ROOT / "state"


def load(name: str, default):
    path = STATE / name
    return json.loads(path.read_text()) if path.is_file() else default


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def app_pid() -> int | None:
    path = STATE / "app.pid"
    if path.is_file():
        pid = int(path.read_text())
        if alive(pid):
            return pid
    return None


def getprop(args: list[str]) -> int:
    props = load("props.json", {})
    if args:
        print(props.get(args[0], ""))
    else:
        for k, v in sorted(props.items()):
            print(f"[{k}]: [{v}]")
    return 0


APP_UID = 10234  # the benchmark app's userId (u0a234 in batterystats)
APP_CURRENT_MA = 250.0  # what the power profile attributes to the training app


def save(name: str, value) -> None:
    (STATE / name).write_text(json.dumps(value))


def batterystats(args: list[str]) -> None:
    """`--reset` starts the accounting; the per-UID estimate grows with the time on battery since then.
    A phone on USB power accounts nothing (as Android's), unless told it is unplugged."""
    stats = load("batterystats.json", {})
    if args[:1] == ["--reset"]:
        save("batterystats.json", {"reset_at": time.time(), "on_battery": load("battery.json", {}).get("unplugged", False)})
        print("Battery stats reset.")
        return
    hours = (time.time() - stats["reset_at"]) / 3600 if "reset_at" in stats else 0.0
    print(
        "Statistics since last charge:\n  System starts: 0, currently on battery: " + str(stats.get("on_battery", False)).lower()
    )
    mah = APP_CURRENT_MA * hours if stats.get("on_battery") else 0.0
    print(f"  Estimated power use (mAh):\n    Capacity: 4355, Computed drain: {mah:.3f}, actual drain: 0\n    Global")
    if mah > 0:
        print(f"    UID u0a{APP_UID - 10000}: {mah:.4f} ( cpu={mah:.4f} )")


def dumpsys(args: list[str]) -> int:
    device = load("device.json", {})
    service = args[0] if args else ""
    if service == "battery" and args[1:2] in (["unplug"], ["reset"]):
        save("battery.json", {"unplugged": args[1] == "unplug"})
    elif service == "batterystats":
        batterystats(args[1:])
    elif service == "battery":
        usb = "false" if load("battery.json", {}).get("unplugged") else "true"
        print(
            f"Current Battery Service state:\n  AC powered: false\n  USB powered: {usb}\n  Wireless powered: false\n  status: 2\n"
            f"  health: 2\n  present: true\n  level: {device.get('battery', 80)}\n  scale: 100\n  voltage: 4012\n  temperature: 312"
        )
    elif service == "thermalservice":
        print(f"IsStatusOverride: false\nThermalEventListeners:\n\tcallbacks: 1\nThermal Status: {device.get('thermal', 0)}")
    elif service == "package" and len(args) > 1:
        pkg = load("packages.json", {}).get(args[1])
        if pkg:
            print(
                f"Packages:\n  Package [{args[1]}] (1a2b3c4):\n    userId={APP_UID}\n    versionCode=1 minSdk=26 targetSdk=34\n"
                f"    versionName={pkg['versionName']}"
            )
    elif service == "meminfo" and len(args) > 1:
        try:
            rollup = Path(f"/proc/{int(args[1])}/smaps_rollup").read_text()
        except (OSError, ValueError):
            print(f"No process found for: {args[1]}")
            return 0
        kb = {
            line.split(":")[0]: int(line.split()[1])
            for line in rollup.splitlines()[1:]
            if line.split()[1:2] and line.split()[1].isdigit()
        }
        print(
            f"Applications Memory Usage (in Kilobytes):\n** MEMINFO in pid {args[1]} [app] **\n"
            f"           TOTAL PSS:   {kb.get('Pss', 0)}            TOTAL RSS:   {kb.get('Rss', 0)}       TOTAL SWAP PSS:        0"
        )
    elif service == "deviceidle":
        print("Now forced in to deep idle mode" if args[1:2] == ["force-idle"] else "Light state: ACTIVE, deep state: ACTIVE")
    else:
        print(f"Can't find service: {service}")
    return 0


def pm(args: list[str]) -> int:
    if args[:1] == ["install"]:
        apk = Path(args[-1])
        try:
            with zipfile.ZipFile(apk) as z:
                meta = json.loads(z.read("flint-test-app.json"))
        except (OSError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as e:
            print(f"Failure [INSTALL_PARSE_FAILED_NOT_APK: Failed to parse {apk}: {type(e).__name__}]")
            return 1
        packages = load("packages.json", {})
        packages[meta["package"]] = meta
        (STATE / "packages.json").write_text(json.dumps(packages))
        print("Success")
        return 0
    if args[:2] == ["list", "packages"]:
        for name in load("packages.json", {}):
            if len(args) < 3 or args[2] in name:
                print(f"package:{name}")
        return 0
    print(f"Unknown command: {' '.join(args)}", file=sys.stderr)
    return 1


def am(args: list[str]) -> int:
    if args[:1] == ["force-stop"]:
        if (pid := app_pid()) is not None:
            os.killpg(pid, signal.SIGKILL)
        return 0
    if args[:1] != ["start"]:
        print(f"Unknown command: {args[:1]}", file=sys.stderr)
        return 1
    component, extras, i = None, {}, 1
    while i < len(args):
        if args[i] == "-n":
            component, i = args[i + 1], i + 2
        elif args[i] in ("--es", "--ef"):
            extras[args[i + 1]], i = args[i + 2], i + 3
        else:
            i += 1
    pkg, _, activity = (component or "").partition("/")
    meta = load("packages.json", {}).get(pkg)
    full = pkg + activity if activity.startswith(".") else activity
    if meta is None or full != (pkg + meta["activity"] if meta["activity"].startswith(".") else meta["activity"]):
        print(f"Starting: Intent {{ cmp={component} }}\nError type 3\nError: Activity class {{{component}}} does not exist.")
        return 0  # Android's am exits 0 here too; callers must read the output
    print(f"Starting: Intent {{ cmp={component} (has extras) }}")
    screen = load("screen.json", {"awake": True, "locked": False})
    launches = load("launches.json", [])
    save("launches.json", [*launches, {"screen": screen, "extras": extras}])
    behaviour = (STATE / "behaviour").read_text() if (STATE / "behaviour").is_file() else "ok"
    if not screen["awake"] or screen["locked"]:
        behaviour = "no-result"  # behind a sleeping or locked screen the activity is paused: it never trains
    spec, result = extras.get("spec"), extras.get("result")
    python = load("device.json", {})["python"]
    if behaviour == "no-result":
        code = "import time; time.sleep(600)"
        argv = [python, "-c", code]
    elif behaviour == "malformed":
        argv = [
            python,
            "-c",
            "import sys, time; time.sleep(0.5); open(sys.argv[1], 'w').write('{\"schema_version\": \"1\", truncated')",
            result,
        ]
    else:
        argv = [python, "-m", "flint_bench.bench.worker", spec, result]
        if "sustained_minutes" in extras:  # the app's --ef sustained_minutes: the reference worker's --sustained-s
            argv += ["--sustained-s", repr(float(extras["sustained_minutes"]) * 60)]
    with open(STATE / "app.log", "ab") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True, cwd=ROOT)
    (STATE / "app.pid").write_text(str(proc.pid))
    return 0


def input(args: list[str]) -> int:  # the Android tool's name (shadows the builtin here only)
    screen = load("screen.json", {"awake": True, "locked": False})
    if args[:1] != ["keyevent"] or len(args) < 2:
        print(f"Error: Unknown command: {' '.join(args)}", file=sys.stderr)
        return 1
    if args[1] in ("KEYCODE_WAKEUP", "224"):
        screen["awake"] = True
    elif args[1] in ("82", "KEYCODE_MENU") and screen["awake"]:
        screen["locked"] = False  # MENU dismisses a swipe lock on an awake screen
    save("screen.json", screen)
    return 0


def wm(args: list[str]) -> int:
    screen = load("screen.json", {"awake": True, "locked": False})
    if args[:1] != ["dismiss-keyguard"]:
        print(f"Error: unknown command '{' '.join(args)}'", file=sys.stderr)
        return 1
    if screen["awake"]:
        screen["locked"] = False
    save("screen.json", screen)
    return 0


def pidof(args: list[str]) -> int:
    meta = load("packages.json", {})
    pid = app_pid()
    if args and args[-1] in meta and pid is not None:
        print(pid)
        return 0
    return 1


def cmd(args: list[str]) -> int:
    if args[:1] == ["package"]:
        return pm(args[1:])
    return 1


if __name__ == "__main__":
    tool, rest = sys.argv[1], sys.argv[2:]
    tools = {"getprop": getprop, "dumpsys": dumpsys, "pm": pm, "am": am, "pidof": pidof, "cmd": cmd, "input": input, "wm": wm}
    sys.exit(tools[tool](rest))
