"""`flint-bench run / export / models list` end to end through the real console script."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from flint_bench.core.contract import validate

REPO = Path(__file__).resolve().parents[2]
CONV1D_MODEL = """
import torch
from torch import nn
from flint_bench.zoo import ModelDef

def make_data(n, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 4, 8, generator=g), torch.rand(n, generator=g)

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(4, 2, 3)
    def forward(self, x):
        return self.conv(x).mean(dim=(1, 2))

def build():
    return ModelDef(name="conv1d", description="uses Conv1d", task="binary", net=Net(),
                    loss=nn.MSELoss(), make_data=make_data, batch_size=4)
"""


def flint(*args, cwd=REPO, check=None):
    proc = subprocess.run(
        [sys.executable, "-m", "flint_bench.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=os.environ | {"PYTHONWARNINGS": "ignore"},
        timeout=600,
    )
    if check is not None:
        assert proc.returncode == check, proc.stdout + proc.stderr
    return proc


def test_models_list_json_from_any_folder(tmp_path):
    proc = flint("models", "list", "--format", "json", cwd=tmp_path, check=0)
    models = json.loads(proc.stdout)  # stdout is one JSON document and nothing else
    assert [m["name"] for m in models] == ["A", "B", "C", "D", "E"]
    assert {m["task"] for m in models} == {"binary", "ranking", "multitask"}
    assert models[3]["total_params"] > models[3]["trainable_params"]


def test_unknown_model_is_exit_2_without_traceback():
    proc = flint("run", "--model", "Z9", check=2)
    assert "Unknown model 'Z9'" in proc.stderr and "Traceback" not in proc.stderr


def test_model_file_that_raises_names_the_file(tmp_path):
    bad = tmp_path / "broken.py"
    bad.write_text("def build():\n    raise ValueError('no weights here')\n")
    proc = flint("run", "--model", f"{bad}:build", "--out", str(tmp_path / "r"), check=2)
    assert "broken.py" in proc.stderr and "no weights here" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "toml, key",
    [
        ('kind = "local"\n[run]\nexampels = 3\n', "run.exampels"),
        ('kind = "local"\n[run]\nexamples = "many"\n', "run.examples"),
        ('kind = "moon"\n', "kind"),
        ('kind = "local"\n[[local.devices]]\nname = "x"\ncpu_affinity = [999]\n', "local.devices[0].cpu_affinity"),
    ],
)
def test_bad_farm_config_names_file_and_key(tmp_path, toml, key):
    farm = tmp_path / "farm.toml"
    farm.write_text(toml)
    proc = flint("run", "--farm", str(farm), "--model", "A", check=2)
    assert str(farm) in proc.stderr and f"'{key}'" in proc.stderr and "Traceback" not in proc.stderr


def test_run_writes_valid_records_and_parquet_and_keeps_others_when_one_model_cannot_export(tmp_path):
    user_model = tmp_path / "conv1d_model.py"
    user_model.write_text(CONV1D_MODEL)
    out = tmp_path / "results"
    proc = flint(
        "run",
        "--model",
        "A",
        "--model",
        f"{user_model}:build",
        "--examples",
        "64",
        "--repeats",
        "2",
        "--out",
        str(out),
        "--format",
        "json",
        check=1,
    )  # 1: the run had a failure
    doc = json.loads(proc.stdout)
    assert [f["model"] for f in doc["failures"]] == ["conv1d"]
    assert "aten::convolution_backward" in doc["failures"][0]["message"]

    records = {p.stem: json.loads(p.read_text()) for p in out.glob("*__*.json")}
    assert set(records) == {"A__local-cpu", "conv1d__local-cpu"}
    for r in records.values():
        validate("result", r)
    a = records["A__local-cpu"]
    assert a["status"] == "ok" and a["timing"]["per_example_seconds"]["n"] == 4  # 2 repeats x 2 batches of 32
    assert len(a["timing"]["step_seconds"]) == 2 and a["cpu"]["method"]
    assert a["memory"]["peak_mb"] > 0 and a["network"]["total_bytes"] == a["model"]["storage_bytes"] + a["model"]["update_bytes"]
    assert a["loss"]["first"] > 0 and a["timing"]["inference_ms"]["n"] == 20
    table = pd.read_parquet(out / "results.parquet")
    assert sorted(table["model"]) == ["A", "conv1d"] and len(table.loc[table.model == "A", "step_seconds"].iloc[0]) == 4

    summary = {row["model"]: row for row in doc["summary"]}
    assert summary["A"]["devices_ok"] == 1 and summary["A"]["mean_s_per_5000"] > 0


def test_export_reuses_the_cache(tmp_path):
    first = json.loads(flint("export", "--model", "A", "--format", "json", "--out", str(tmp_path), check=0).stdout)[0]
    second = json.loads(flint("export", "--model", "A", "--format", "json", check=0).stdout)[0]
    assert second["cached"] is True and second["export_seconds"] == 0
    manifest = first["artifacts"]["executorch-training"]
    assert manifest["sha256"] == second["artifacts"]["executorch-training"]["sha256"]
    assert (tmp_path / "A" / "training.pte").stat().st_size == manifest["bytes"]
    assert set(first["artifacts"]) == {"executorch-training", "executorch", "onnx"}
