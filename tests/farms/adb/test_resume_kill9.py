"""`kill -9` of a real `flint-bench run` loses only what was in flight; `--resume` finishes the rest."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from flint_bench.core.results import load_records


def flint_bench() -> list[str]:
    """The console script of the interpreter running the tests (not whichever is first on PATH)."""
    return [sys.executable, "-m", "flint_bench.cli"]


def test_kill9_then_resume_runs_only_the_missing_pairs(tmp_path):
    farm = tmp_path / "two-classes.toml"
    farm.write_text(
        'kind = "local"\nname = "two"\n[run]\nexamples = 64\nrepeats = 1\nwarmup_steps = 1\n'
        '[[local.devices]]\nname = "c1"\nthreads = 1\n[[local.devices]]\nname = "c2"\nthreads = 1\n'
    )
    out = tmp_path / "results"
    args = [*flint_bench(), "run", "--farm", str(farm), "--model", "A", "--out", str(out), "--quiet"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 240
    done: list[Path] = []
    while not done and time.monotonic() < deadline and proc.poll() is None:
        done = [p for p in out.glob("*__*.json")]
        time.sleep(0.05)
    assert done, f"no record appeared before the run ended: {proc.stderr.read().decode()[-2000:]}"
    os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its benchmark worker, like a crash or power loss
    proc.wait()
    before = {p.name: p.read_bytes() for p in out.glob("*__*.json")}
    assert len(before) == 1, "the run must be killed mid-way (2 pairs, run one after the other: model A x devices c1, c2)"
    assert len(load_records(out)) == len(before)  # a half-written temp file is never read as a record
    for blob in before.values():
        assert json.loads(blob)["status"] == "ok"  # atomic writes: every record on disk is whole

    res = subprocess.run([*args, "--resume", "--format", "json"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    summary = json.loads(res.stdout)
    assert summary["skipped"] == len(before)
    after = {p.name: p.read_bytes() for p in out.glob("*__*.json")}
    assert len(after) == 2 and all(json.loads(b)["status"] == "ok" for b in after.values())
    assert all(after[name] == blob for name, blob in before.items())  # finished pairs were not run again
