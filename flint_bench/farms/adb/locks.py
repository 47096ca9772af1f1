"""One benchmark at a time on a phone: a host-side lock per adb server and serial (an flock file), held
by every thread and every flint-bench process of this machine that benchmarks on the phone."""

from __future__ import annotations

import fcntl
import os
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

POLL_S = 0.2


class DeviceBusy(Exception):
    """Another benchmark held the phone for longer than we may wait."""


def lock_dir() -> Path:
    return Path(tempfile.gettempdir()) / "flint-bench-adb-locks"


def lock_path(server: str, serial: str) -> Path:
    return lock_dir() / (re.sub(r"[^\w.-]", "_", f"{server}-{serial}") + ".lock")


@contextmanager
def device_lock(server: str, serial: str, wait_s: float) -> Iterator[None]:
    """Hold the phone's lock, waiting up to `wait_s` for it. flock locks belong to the open file, so two
    threads of one process exclude each other as two processes do, and a killed holder releases it."""
    lock_dir().mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(lock_path(server, serial), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise DeviceBusy(
                        f"{serial} is busy: another flint-bench benchmark on this machine held it for the whole {wait_s:g} s "
                        "this one may wait (adb.lock_wait_s, default [run].timeout_s)"
                    ) from None
                time.sleep(POLL_S)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
