"""One run per output folder: a lock file holding the owner's pid, host and start time.

The lock is an advisory `flock` on the file, which the kernel releases when its process dies (even
by `kill -9`), so a lock file left behind by a dead run is never mistaken for a live one: the next
run takes it over with a note. The file's text only names the holder for the message.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .contract import now
from .errors import UserError

LOCK_FILE = ".flint-bench.lock"


def _holder(text: str) -> str:
    try:
        info = json.loads(text)
        return f"pid {info['pid']} on {info['host']} (started {info['started']})"
    except (ValueError, TypeError, KeyError):
        return "another process"


@contextmanager
def run_lock(folder: Path, on_note: Callable[[str], None] = lambda text: None) -> Iterator[Path]:
    """Hold `folder`'s lock for the block; a second holder is a UserError naming the first."""
    path = folder / LOCK_FILE
    try:
        folder.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                text = os.pread(fd, 4096, 0).decode(errors="replace")
                os.close(fd)
                raise UserError(
                    f"{folder} is in use by another flint-bench run: {_holder(text)}. Wait for it to finish "
                    f"or pass another --out."
                ) from None
            try:
                current = os.stat(path).st_ino
            except FileNotFoundError:
                current = None
            if current == os.fstat(fd).st_ino:
                break
            os.close(fd)  # the previous holder removed the file between our open and flock: lock the new one
    except OSError as e:
        raise UserError(f"cannot lock {path}: {e.strerror or e}.") from e
    try:
        try:
            stale = os.pread(fd, 4096, 0).decode(errors="replace").strip()
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": now()}).encode(), 0)
        except OSError as e:
            raise UserError(f"cannot write {path}: {e.strerror or e}.") from e
        if stale:
            on_note(f"taking over the lock of a run that ended without releasing it: {_holder(stale)}")
        yield path
    finally:
        path.unlink(missing_ok=True)  # before closing: nobody can lock this file once we let go
        os.close(fd)
