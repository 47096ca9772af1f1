"""The export cache under faults: a broken entry is exported again, a concurrent exporter's entry is
used, a cache that cannot be written is a user error."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import torch
from torch import nn

import flint_bench.export as export
from flint_bench.core.errors import UserError
from flint_bench.zoo import ModelDef


def tiny() -> ModelDef:
    def make_data(n: int, seed: int) -> tuple[torch.Tensor, ...]:
        g = torch.Generator().manual_seed(seed)
        return torch.randn(n, 4, generator=g), torch.rand(n, generator=g)

    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 1), nn.Flatten(0))
    return ModelDef(name="tiny", description="tiny", task="binary", net=net, loss=nn.MSELoss(), make_data=make_data, batch_size=4)


@pytest.mark.parametrize("index", ["{broken", '{"onnx": {"unexpected": 1}}', "[1]", None])
def test_an_unreadable_cache_entry_is_a_miss(tmp_path, index):
    if index is not None:
        (tmp_path / "manifests.json").write_text(index)
    assert export.cached_artifacts(tiny(), tmp_path) is None


def test_a_cache_that_cannot_be_written_is_a_user_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(UserError, match=rf"cannot write the export cache {blocker / 'cache'}: Not a directory"):
        export.export_model(tiny(), blocker / "cache")


def test_an_entry_another_run_completed_meanwhile_is_used(tmp_path, monkeypatch):
    real_replace = os.replace
    raced: list[str] = []

    def replace(src, dst):  # another run put the same entry in place first: renaming onto it fails
        if Path(src).parent == tmp_path and not raced:
            raced.append(str(dst))
            shutil.copytree(src, dst)
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    # the programs themselves do not matter here: skip the (slow) real export
    monkeypatch.setattr(export, "export_training_program", lambda model: b"training")
    monkeypatch.setattr(export, "verify_training_program", lambda model, buffer: None)
    monkeypatch.setattr(export, "export_inference_program", lambda model: b"inference")
    monkeypatch.setattr(export, "export_onnx", lambda model, path: path.write_bytes(b"onnx"))
    artifacts = export.export_model(tiny(), tmp_path)
    assert raced == [str(artifacts.folder)] and artifacts.cached
    assert [p.name for p in tmp_path.iterdir()] == [artifacts.folder.name]  # our temporary folder is gone
