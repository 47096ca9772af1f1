"""One run per output folder: a held lock names its holder, a dead run's lock is taken over."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from flint_bench.core.errors import UserError
from flint_bench.core.runlock import LOCK_FILE, run_lock


def test_a_second_holder_is_refused_naming_the_first(tmp_path):
    with run_lock(tmp_path) as lock:
        info = json.loads(lock.read_text())
        assert info["pid"] == os.getpid() and info["host"] == socket.gethostname()
        with pytest.raises(UserError, match=rf"in use by another flint-bench run: pid {os.getpid()} on "), run_lock(tmp_path):
            pass
    assert not (tmp_path / LOCK_FILE).exists()  # released on the way out
    with run_lock(tmp_path):  # and free again
        pass


def test_a_lock_held_by_another_process_is_refused(tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from flint_bench.core.runlock import run_lock\n"
            "with run_lock(Path(sys.argv[1])):\n    print('locked', flush=True); time.sleep(60)",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(UserError, match=rf"pid {holder.pid} on"), run_lock(tmp_path):
            pass
    finally:
        holder.kill()
        holder.wait()
    notes: list[str] = []
    with run_lock(tmp_path, notes.append):  # killed: the kernel released its lock, its file is left behind
        pass
    assert len(notes) == 1 and f"pid {holder.pid}" in notes[0]


def test_a_stale_lock_file_is_taken_over_with_a_note(tmp_path):
    (tmp_path / LOCK_FILE).write_text(json.dumps({"pid": 999999999, "host": "gone", "started": "2020-01-01"}))
    notes: list[str] = []
    with run_lock(tmp_path, notes.append) as lock:
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    assert notes == ["taking over the lock of a run that ended without releasing it: pid 999999999 on gone (started 2020-01-01)"]
