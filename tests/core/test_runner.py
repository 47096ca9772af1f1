"""The runner's own files: the training data it reuses and the records --resume reads."""

from __future__ import annotations

import io

import numpy as np
import pytest

from flint_bench.core.errors import UserError
from flint_bench.farms.base import RunSettings
from flint_bench.runner import finished_ok, training_data
from flint_bench.zoo import load_model


def test_training_data_is_written_once_and_reused(tmp_path):
    model = load_model("A")
    path = training_data(model, RunSettings(examples=40), tmp_path)
    with np.load(path) as npz:
        assert len(npz["input_0"]) == 40
    assert training_data(model, RunSettings(examples=40), tmp_path) == path


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"PK\x03\x04 truncated", "not a valid training data file"),
        (b"not a zip at all", "not a valid training data file"),
        (_npz(input_0=np.zeros((40, 3), np.float32)), "arrays"),
        (_npz(input_0=np.array([object()] * 40), input_1=np.zeros(40, np.float32)), "not a valid training data file"),
        (_npz(input_0=np.zeros((39, 30), np.float32), input_1=np.zeros(40, np.float32)), r"input_0 is float32 \[39, 30\]"),
        (_npz(input_0=np.zeros((0, 30), np.float32), input_1=np.zeros(0, np.float32)), r"expected float32 \[40, 30\]"),
    ],
)
def test_a_bad_existing_data_file_is_a_user_error_naming_it(tmp_path, content, needle):
    model = load_model("A")
    path = tmp_path / "data-40-0.npz"
    path.write_bytes(content)
    with pytest.raises(UserError, match=needle) as e:
        training_data(model, RunSettings(examples=40), tmp_path)
    assert str(path) in str(e.value)


def test_resume_benchmarks_again_a_record_it_cannot_read(tmp_path):
    (tmp_path / "A__phone.json").write_bytes(b'{"status": "ok", "x": "\xff"}')
    (tmp_path / "A__tab.json").write_bytes(b"[1, 2]")
    (tmp_path / "A__ok.json").write_text('{"status": "ok"}')
    assert not finished_ok(tmp_path, "A", "phone") and not finished_ok(tmp_path, "A", "tab")
    assert finished_ok(tmp_path, "A", "ok") and not finished_ok(tmp_path, "A", "missing")
