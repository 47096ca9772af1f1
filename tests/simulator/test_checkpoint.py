"""Checkpoints hold data only: resuming equals an uninterrupted run, a pickle is never loaded, a damaged,
foreign or edited checkpoint is exit 2 naming the file, and a full disk is a clear error leaving no temp file."""

from __future__ import annotations

import errno
import json
import os
import pickle
import signal
import zipfile
from pathlib import Path

import pytest

from flint_bench.core.errors import UserError
from flint_bench.simulator import checkpoint, experiment, simulation
from flint_bench.simulator.callbacks import Checkpointing, TrialCallback
from flint_bench.simulator.callbacks import Interrupted as StopInterrupted
from flint_bench.simulator.checkpoint import CHECKPOINT
from flint_bench.simulator.config import parse

from .helpers import raw_config
from .test_cli import cli, toml_dump

SYNTHETIC = {
    "classes": [{"name": "t", "per_example_s": {"median": 1.0, "sigma": 1.0}}],
    "availability": {"always": False, "checkins_per_device_per_day": 500.0},
}


class Interrupted(Exception):
    pass


def interrupted_run(raw: dict, out: Path, monkeypatch, after: int) -> None:
    """Run `raw` into `out` and stop it right after the checkpoint of aggregation `after` (as a kill would)."""
    save = Checkpointing.save

    def save_then_stop(self, st):
        save(self, st)
        if st is not None and st.sched.c.aggregations == after:
            raise Interrupted

    with monkeypatch.context() as m:
        m.setattr(Checkpointing, "save", save_then_stop)
        with pytest.raises(Interrupted):
            experiment.run(parse(raw, "sim.toml"), raw, out)


@pytest.mark.parametrize("mode", ["fedavg", "fedbuff"])
def test_resume_from_a_checkpoint_mid_trial_equals_an_uninterrupted_run(tmp_path, monkeypatch, mode):
    raw = raw_config(
        mode,
        sim={"train": True, "trials": 2, "max_aggregations": 12, "eval_every": 3},
        fedbuff={"concurrency": 20, "buffer": 5},  # tasks stay in flight in the event heap at the checkpoint
        population=SYNTHETIC,  # diurnal sessions: the stream's RNG and clock matter
    )
    reference = experiment.run(parse(raw, "sim.toml"), raw, None)
    out = tmp_path / "out"
    interrupted_run(raw, out, monkeypatch, after=7)
    saved = checkpoint.load_checkpoint(out)
    assert saved is not None and saved.trial is not None and saved.trial["trial"] == 0
    if mode == "fedbuff":
        assert saved.trial["scheduler"]["heap"], "the test should checkpoint tasks in flight"
    resumed = experiment.run(parse(raw, "sim.toml"), raw, out, resume=True)
    assert resumed.rows == reference.rows
    assert resumed.summary["per_trial"] == reference.summary["per_trial"]


def test_a_crafted_pickle_checkpoint_is_never_loaded(tmp_path):
    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    raw = raw_config()
    out = tmp_path / "out"
    out.mkdir()
    (out / "config.json").write_text(json.dumps(raw))
    (out / "checkpoint.pkl").write_bytes(pickle.dumps(Payload()))
    r = cli("--resume", str(out))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "checkpoint.pkl" in r.stderr and "without --resume" in r.stderr
    assert not (tmp_path / "pwned").exists()


def rewrite(path: Path, change) -> None:
    """Rewrite the checkpoint's JSON document through `change`, keeping its arrays."""
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    document = json.loads(members[checkpoint.DOCUMENT])
    change(document)
    members[checkpoint.DOCUMENT] = json.dumps(document).encode()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)


def tamper(document: dict) -> None:
    document["trial"]["scheduler"]["counters"]["succeeded"] += 1


def other_version(document: dict) -> None:
    document["version"] = 99


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda p: p.write_bytes(b""), "truncated or damaged"),
        (lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]), "truncated or damaged"),
        (lambda p: rewrite(p, tamper), "checksum mismatch"),
        (lambda p: rewrite(p, other_version), "format version 99"),
        (lambda p: p.write_bytes(b"PK\x03\x04 not really a zip"), "truncated or damaged"),
    ],
    ids=["empty", "truncated", "tampered", "other-version", "garbage"],
)
def test_a_damaged_or_foreign_checkpoint_is_exit_2_naming_the_file(tmp_path, monkeypatch, damage, message):
    raw = raw_config("fedbuff", sim={"max_aggregations": 6})
    cfg_file = toml_dump(raw, tmp_path / "sim.toml")
    out = tmp_path / "out"
    interrupted_run(raw, out, monkeypatch, after=3)
    damage(out / CHECKPOINT)
    r = cli("--config", str(cfg_file), "--resume", str(out))
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert str(out / CHECKPOINT) in r.stderr.replace("\n", "") and message in r.stderr.replace("\n", " ")


def test_a_full_disk_while_checkpointing_is_a_user_error_and_leaves_no_temp_file(tmp_path, monkeypatch):
    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    raw = raw_config("fedbuff", sim={"max_aggregations": 6})
    out = tmp_path / "out"
    monkeypatch.setattr(zipfile.ZipFile, "writestr", no_space)
    with pytest.raises(UserError, match=r"checkpoint\.npz: No space left on device"):
        experiment.run(parse(raw, "sim.toml"), raw, out)
    assert sorted(p.name for p in out.iterdir()) == ["config.json"]  # no temporary file left


def test_a_full_disk_while_writing_the_outputs_is_a_user_error_and_leaves_no_temp_file(tmp_path, monkeypatch):
    import flint_bench.core.fileio as fileio

    def no_space(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    raw = raw_config("fedbuff", sim={"max_aggregations": 6})
    out = tmp_path / "out"
    monkeypatch.setattr(fileio.os, "fsync", no_space)
    with pytest.raises(UserError, match=r"config\.json: No space left on device"):
        experiment.run(parse(raw, "sim.toml"), raw, out)
    assert list(out.iterdir()) == []


class SignalAt(TrialCallback):
    """Sends this process a real SIGINT after aggregation `at` (as Ctrl-C would)."""

    def __init__(self, at: int):
        self.at = at

    def after_aggregation(self, st, evaluated: bool) -> bool:
        if st.sched.c.aggregations == self.at:
            os.kill(os.getpid(), signal.SIGINT)
        return False


def test_ctrl_c_checkpoints_the_last_aggregation_and_resume_equals_an_uninterrupted_run(tmp_path):
    raw = raw_config("fedbuff", sim={"train": True, "trials": 1, "max_aggregations": 12, "eval_every": 3}, population=SYNTHETIC)
    del raw["sim"]["checkpoint_every"]  # the default: by wall time (30 s), so only the stop writes one mid-trial
    reference = experiment.run(parse(raw, "sim.toml"), raw, None)
    out = tmp_path / "out"
    with pytest.raises(StopInterrupted) as stopped:
        experiment.run(parse(raw, "sim.toml"), raw, out, callbacks=[SignalAt(7)])
    assert stopped.value.exit_code == 130 and f"--resume {out}" in str(stopped.value)
    saved = checkpoint.load_checkpoint(out)
    assert saved is not None and saved.trial is not None
    assert saved.trial["scheduler"]["counters"]["aggregations"] == 7  # nothing lost
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is restored
    resumed = experiment.run(parse(raw, "sim.toml"), raw, out, resume=True)
    assert resumed.rows == reference.rows


def test_checkpoints_follow_wall_time_unless_an_aggregation_count_is_set(tmp_path):
    cfg = parse(raw_config("fedbuff", sim={"max_aggregations": 10}), "sim.toml")
    setup = simulation.prepare(cfg)

    def saves(**every) -> int:
        n = [0]

        class Counting(Checkpointing):
            def save(self, st):
                n[0] += 1
                super().save(st)

        simulation.run_trial(setup, simulation.new_trial(setup, 0), None, [Counting(tmp_path, {}, [], [], **every)])
        return n[0]

    assert saves(every_s=3600.0) == 0  # within the hour: only the run's end-of-trial save (not in run_trial)
    assert saves(every_s=1e-9) == 10
    assert saves(every=4, every_s=1e-9) == 2


def test_progress_bar_shows_trials_aggregations_virtual_hours_tasks_and_metric():
    import io

    from rich.console import Console

    from flint_bench.simulator.progress import ProgressBar

    raw = raw_config("fedbuff", sim={"train": True, "trials": 2, "max_aggregations": 6, "eval_every": 3})
    buffer = io.StringIO()
    with ProgressBar(2, 6, Console(file=buffer, force_terminal=True, width=200), min_interval_s=0) as bar:
        experiment.run(parse(raw, "sim.toml"), raw, None, callbacks=[bar])
    text = buffer.getvalue()
    assert "trial 1/2" in text and "trial 2/2" in text and "6/6" in text
    assert "virtual h" in text and "tasks (" in text and "metric 0." in text
