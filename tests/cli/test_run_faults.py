"""`run` and `export` under hostile input and faults: flags out of range, a busy output folder, a
full disk, model files whose data (not their layers) break the export."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from flint_bench import runner
from flint_bench.core.runlock import run_lock


@pytest.mark.parametrize(
    ("flag", "value", "needle"),
    [
        ("--examples", "2000000000", "must be <= 10000000, got 2000000000"),
        ("--repeats", "100000", "must be <= 1000"),
        ("--batch-size", "2000000000", "must be <= 10000000"),
        ("--warmup", "2000000000", "must be <= 1000000"),
    ],
)
def test_a_flag_beyond_the_run_settings_bounds_is_exit_2_naming_it(cli, monkeypatch, tmp_path, flag, value, needle):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(runner, "run_benchmarks", lambda *a, **k: pytest.fail("the run must not start"))
    code, _, err = cli("run", "--model", "A", flag, value, "--out", tmp_path / "r")
    assert code == 2 and f"key '{flag}'" in err and needle in " ".join(err.split()) and "Traceback" not in err


def test_a_second_run_into_a_busy_folder_is_exit_2_naming_the_holder(cli, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "r"
    with run_lock(out):
        code, _, err = cli("run", "--model", "A", "--examples", "32", "--out", out)
    err = " ".join(err.split())
    assert code == 2 and f"pid {os.getpid()} on" in err and "--out" in err
    assert not list(out.glob("*__*.json"))  # the second run wrote nothing


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full to fill a disk")
def test_a_full_disk_while_saving_a_record_is_exit_2_keeping_what_was_saved(cli, monkeypatch, tmp_path, local_results):
    monkeypatch.chdir(tmp_path)  # the built-in local farm: one device, local-cpu
    out = shutil.copytree(local_results, tmp_path / "r")  # an earlier run's records of A and B
    saved = {p.name: p.read_bytes() for p in out.iterdir()}
    assert "A__local-cpu.json" in saved

    real_mkstemp = tempfile.mkstemp

    def full_disk(*args, **kwargs):  # a record's temporary file lands on a full disk
        fd, name = real_mkstemp(*args, **kwargs)
        if Path(name).name.startswith(".A__"):
            full = os.open("/dev/full", os.O_WRONLY)
            os.dup2(full, fd)
            os.close(full)
        return fd, name

    monkeypatch.setattr(tempfile, "mkstemp", full_disk)
    code, _, err = cli("run", "--model", "A", "--examples", "32", "--repeats", "1", "--warmup", "0", "--out", out, "--quiet")
    err = " ".join(err.split())
    assert code == 2 and "Traceback" not in err, err
    assert f"cannot write {out / 'A__local-cpu.json'}: No space left on device" in err
    assert "model A on device local-cpu (ok) could not be saved" in err and "--resume" in err
    assert sorted(p.name for p in out.iterdir()) == sorted(saved)  # no temporary file, no lock left
    assert (out / "A__local-cpu.json").read_bytes() == saved["A__local-cpu.json"]
    assert (out / "results.parquet").read_bytes() == saved["results.parquet"]


MODEL_FILE = """
import torch
from torch import nn
from flint_bench.zoo import ModelDef

def make_data(n, seed):
    g = torch.Generator().manual_seed(seed)
    {body}

def build():
    return ModelDef(name="user", description="a user model", task="binary", net=nn.Sequential(nn.Linear(8, 1), nn.Flatten(0)),
                    loss=nn.MSELoss(), make_data=make_data, batch_size=4)
"""


@pytest.mark.parametrize(
    ("body", "cause", "wrong_cause"),
    [
        (
            "return torch.randn(8, n, generator=g).t(), torch.rand(n, generator=g)",
            "input_0 (feature, shape [4, 8], strides [1, 4]) is not contiguous",
            "Replace that layer",
        ),
        (
            "return torch.randn(n, 8, generator=g), torch.rand(n - 1, generator=g)",
            "input_0 (feature) has 4, input_1 (label) has 3 rows",
            "Check that every op is supported",
        ),
    ],
)
def test_export_errors_name_the_real_cause(cli, tmp_path, body, cause, wrong_cause):
    path = tmp_path / "user_model.py"
    path.write_text(MODEL_FILE.format(body=body))
    code, out, _ = cli("export", "--model", f"{path}:build", "--format", "json")
    (row,) = json.loads(out)
    assert code == 1 and cause in row["error"] and wrong_cause not in row["error"], row["error"]
    if "contiguous" in cause:
        assert "make the tensor contiguous" in row["error"]
