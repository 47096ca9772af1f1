"""`adb` for running a rendered Device Farm test spec on this machine: a phone whose storage is a
folder ($FAKE_PHONE_ROOT) and whose benchmark app is the reference worker. It knows exactly the
commands the test spec uses and fails on anything else, so a template change cannot pass unseen."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(os.environ["FAKE_PHONE_ROOT"])


def local(path: str) -> Path:
    return ROOT / path.lstrip("/")


def screen(**change: bool) -> dict[str, bool]:
    """The phone's screen: asleep behind a swipe lock until the test spec wakes and unlocks it."""
    path = ROOT / ".screen.json"
    state = json.loads(path.read_text()) if path.is_file() else {"awake": False, "locked": True}
    state.update(change)
    path.write_text(json.dumps(state))
    return state


def shell(argv: list[str]) -> int:
    # adb joins the arguments and the phone's shell splits them again
    words = shlex.split(" ".join(argv))
    with open(ROOT / ".shell.log", "a") as log:  # what the test spec ran, in order
        log.write(" ".join(words) + "\n")
    match words:
        case ["input", "keyevent", "KEYCODE_WAKEUP"]:
            screen(awake=True)
        case ["wm", "dismiss-keyguard"] | ["input", "keyevent", "82"]:
            if screen()["awake"]:
                screen(locked=False)
        case ["am", "start", "-W", "-n", _component, "--es", "spec", _, "--es", "result", _, "--es", "run_id", _] if (
            not screen()["awake"] or screen()["locked"]
        ):
            pass  # behind a sleeping or locked screen the activity is paused: it never trains
        case ["getprop"]:
            print("[ro.product.manufacturer]: [Google]\n[ro.product.model]: [Pixel 7]")
        case ["dumpsys", "battery"]:
            print("Current Battery Service state:\n  level: 100")
        case ["am", "force-stop", _]:
            pass
        case ["mkdir", "-p", path]:
            local(path).mkdir(parents=True, exist_ok=True)
        case ["rm", "-f", path]:
            local(path).unlink(missing_ok=True)
        case ["test", "-e", path]:
            return 0 if local(path).exists() else 1
        case ["am", "start", "-W", "-n", _component, "--es", "spec", spec, "--es", "result", result, "--es", "run_id", _run_id]:
            # the app runs in the background on a phone; here it finishes before `am start` returns
            return subprocess.run(
                [sys.executable, "-m", "flint_bench.bench.worker", str(local(spec)), str(local(result))],
                stdout=subprocess.DEVNULL,
            ).returncode
        case ["logcat", "-d", "-s", "flint"]:
            pass
        case _:
            print(f"fake adb: unexpected shell command {words}", file=sys.stderr)
            return 127
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["-s"]:
        if argv[1] != os.environ["FAKE_PHONE_SERIAL"]:
            print(f"error: device '{argv[1]}' not found", file=sys.stderr)
            return 1
        argv = argv[2:]
    match argv:
        case ["shell", *rest]:
            return shell(rest)
        case ["push", *sources, dest]:
            for src in sources:
                target = local(dest) / Path(src).name if dest.endswith("/") else local(dest)
                shutil.copyfile(src, target)
            return 0
        case ["pull", src, dest]:
            shutil.copyfile(local(src), dest)
            return 0
    print(f"fake adb: unexpected command {argv}", file=sys.stderr)
    return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
