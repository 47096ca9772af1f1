"""The model zoo: model files in `models/` (shipped as flint_bench.models) and user files `path.py:build`.

A model file defines `build() -> ModelDef`. The net maps features to predictions; flint-bench
wraps it with the loss into the training program that ExecuTorch exports (forward + backward).
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from .core.errors import UserError

Task = Literal["binary", "ranking", "multitask", "multiclass"]


@dataclass
class ModelDef:
    name: str
    description: str
    task: Task
    net: nn.Module  # forward(*features) -> predictions (logits / scores)
    loss: Callable[..., torch.Tensor]  # loss(predictions, *labels) -> scalar
    make_data: Callable[[int, int], tuple[torch.Tensor, ...]]  # (n, seed) -> (*features, *labels)
    n_features: int = 1
    batch_size: int = 32
    lr: float = 0.05
    # optional row_loss(predictions, *labels) -> [n] per-row losses whose mean is `loss`: lets the simulator
    # weight rows in one pass without vmap (torch's elementwise loss modules need none)
    row_loss: Callable[..., torch.Tensor] | None = None
    source: Path | None = field(default=None, repr=False)
    entry: str = "build"

    def example_batch(self, batch_size: int | None = None, seed: int = 0) -> tuple[torch.Tensor, ...]:
        return self.make_data(batch_size or self.batch_size, seed)

    def input_description(self, batch_size: int) -> list[dict[str, Any]]:
        """The spec's `data.inputs`: name, dtype, shape and value range of each input of a batch."""
        inputs: list[dict[str, Any]] = []
        for i, t in enumerate(self.example_batch(batch_size)):
            item: dict[str, Any] = {
                "name": f"input_{i}",
                "dtype": "int64" if t.dtype == torch.int64 else "float32",
                "shape": list(t.shape),
            }
            if t.numel():
                item |= {"low": float(t.min()), "high": float(t.max())}
            inputs.append(item)
        return inputs

    def features(self, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        return batch[: self.n_features]

    def labels(self, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        return batch[self.n_features :]

    def training_module(self) -> TrainingProgram:
        return TrainingProgram(self.net, self.loss, self.n_features)

    @property
    def trainable_params(self) -> int:
        return sum(p.numel() for p in self.net.parameters() if p.requires_grad)

    @property
    def total_params(self) -> int:
        return sum(p.numel() for p in self.net.parameters()) + sum(b.numel() for b in self.net.buffers())

    @property
    def update_bytes(self) -> int:
        """What a client uploads: the trainable parameters' delta (float32 dense)."""
        return sum(p.numel() * p.element_size() for p in self.net.parameters() if p.requires_grad)

    def source_digest(self) -> str:
        return hashlib.sha256(self.source.read_bytes()).hexdigest() if self.source else "builtin"


class TrainingProgram(nn.Module):
    """forward(*features, *labels) -> (loss, predictions): the joint graph ExecuTorch trains."""

    def __init__(self, net: nn.Module, loss: Callable[..., torch.Tensor], n_features: int):
        super().__init__()
        self.net, self.loss_fn, self.n_features = net, loss, n_features

    def forward(self, *tensors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        predictions = self.net(*tensors[: self.n_features])
        return self.loss_fn(predictions, *tensors[self.n_features :]), predictions.detach()


def zoo_files() -> dict[str, Path]:
    """Built-in zoo plus ./models of the current folder (a user's own models), by model file stem."""
    import flint_bench.models  # models/ of the repo, installed as flint_bench.models

    found: dict[str, Path] = {}
    for folder in (*map(Path, flint_bench.models.__path__), Path.cwd() / "models"):
        if folder.is_dir():
            for f in sorted(folder.glob("*.py")):
                if not f.name.startswith("_"):
                    found.setdefault(f.stem, f)
    return found


def _load_file(path: Path, entry: str, label: str) -> ModelDef:
    if not path.is_file():
        raise UserError(f"Model file {path} does not exist. Pass --model NAME or --model path/to/file.py:build.")
    module_name = f"flint_bench_user_model_{hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise UserError(f"Model file {path} cannot be imported as a Python module.")
    module = importlib.util.module_from_spec(spec)
    try:
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        builder = getattr(module, entry, None)
        if builder is None:
            raise UserError(f"Model file {path} has no function '{entry}'. Define `def {entry}() -> ModelDef`.")
        with torch.random.fork_rng():
            torch.manual_seed(0)  # same initial weights on every build: the cached export matches the eager model
            model = builder()
    except UserError:
        raise
    except Exception as e:
        where = traceback.extract_tb(e.__traceback__)[-1]
        raise UserError(
            f"Model '{label}' ({path}) raised {type(e).__name__}: {e} (at {Path(where.filename).name}:{where.lineno}). Fix the model file and run again."
        ) from None
    if not isinstance(model, ModelDef):
        raise UserError(f"Model file {path}: {entry}() returned {type(model).__name__}, expected flint_bench.zoo.ModelDef.")
    model.source, model.entry = path.resolve(), entry
    return model


def load_model(ref: str) -> ModelDef:
    """`ref` is a zoo name (file stem or ModelDef.name, case-insensitive) or `path/to/file.py[:build]`."""
    if ".py" in ref:
        stem, _, entry = ref.partition(".py")
        return _load_file(Path(stem + ".py"), entry.lstrip(":") or "build", ref)
    files = zoo_files()
    key = ref.lower()
    for stem, path in files.items():
        if stem.lower() == key or stem.lower().split("_")[0] == key:
            return _load_file(path, "build", ref)
    known = ", ".join(f"{short_name(stem)} ({stem})" if short_name(stem) != stem else stem for stem in sorted(files))
    raise UserError(f"Unknown model '{ref}'. Known models: {known}. A file of your own: --model path/to/file.py:build.")


def short_name(stem: str) -> str:
    """The name users type for a zoo file: `a_tiny` is model A (the file's prefix before `_`)."""
    prefix = stem.split("_")[0]
    return prefix.upper() if len(prefix) == 1 and "_" in stem else stem


def load_models(refs: list[str] | None) -> list[ModelDef]:
    return [load_model(r) for r in (refs or list(zoo_files()))]


def describe_models(models: list[ModelDef]) -> list[dict[str, Any]]:
    """One row per model for `models list`."""
    return [
        {
            "name": m.name,
            "description": m.description,
            "task": m.task,
            "trainable_params": m.trainable_params,
            "total_params": m.total_params,
            "update_bytes": m.update_bytes,
            "batch_size": m.batch_size,
            "source": str(m.source),
        }
        for m in models
    ]
