"""Export a zoo model to its mobile artifacts, through a content-addressed cache.

Per model: an ExecuTorch training program (joint forward + backward graph), an ExecuTorch
inference program, and an ONNX inference model, each with a manifest. The cache key covers the
model source, its config and the tool versions, so an unchanged model is never exported twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import torch

from .. import __version__
from ..core.errors import UserError
from ..core.fileio import write_json_atomic
from ..zoo import ModelDef

FORMATS = {"executorch-training": "training.pte", "executorch": "inference.pte", "onnx": "model.onnx"}
# Bump when the export recipe changes, so caches built by an older recipe are not reused.
EXPORT_RECIPE = 1


class ExportError(UserError):
    """A model that cannot be exported or whose exported program does not run (e.g. an unsupported op)."""


@dataclass
class Manifest:
    model: str
    format: str
    file: str
    sha256: str
    bytes: int
    trainable_params: int
    total_params: int
    update_bytes: int
    task: str
    batch_size: int
    cache_key: str
    export_seconds: float
    tool_versions: dict


@dataclass
class Artifacts:
    model: str
    folder: Path
    manifests: dict[str, Manifest]
    cached: bool
    export_seconds: float  # 0 when served from the cache

    def path(self, fmt: str) -> Path:
        return self.folder / self.manifests[fmt].file


def default_cache_dir() -> Path:
    return Path(os.environ.get("FLINT_BENCH_CACHE", Path.home() / ".cache" / "flint-bench")) / "artifacts"


def tool_versions() -> dict[str, str]:
    return {pkg: version(pkg) for pkg in ("torch", "executorch", "onnx")} | {
        "flint-bench": __version__,
        "recipe": str(EXPORT_RECIPE),
    }


def cache_key(model: ModelDef) -> str:
    config = {
        "name": model.name,
        "entry": model.entry,
        "task": model.task,
        "batch_size": model.batch_size,
        "n_features": model.n_features,
    }
    blob = json.dumps({"source": model.source_digest(), "config": config, "tools": tool_versions()}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@contextlib.contextmanager
def captured_native_stderr() -> Iterator[list[str]]:
    """Capture what C++ code writes to fd 2 (ExecuTorch logs the failing operator there)."""
    with tempfile.TemporaryFile(mode="w+b") as log:
        saved = os.dup(2)
        os.dup2(log.fileno(), 2)
        text: list[str] = []
        try:
            yield text
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            log.seek(0)
            text.append(log.read().decode(errors="replace"))


def failing_operator(native_log: str) -> str | None:
    m = re.search(r"in operator ([\w.:]+)", native_log)
    return m.group(1) if m else None


def export_training_program(model: ModelDef) -> bytes:
    from executorch.exir import to_edge
    from torch.export.experimental import _export_forward_backward

    program = model.training_module().eval()
    batch = model.example_batch()
    ep = _export_forward_backward(torch.export.export(program, batch, strict=True))
    return to_edge(ep).to_executorch().buffer


def export_inference_program(model: ModelDef) -> bytes:
    from executorch.exir import to_edge

    net = model.net.eval()
    return to_edge(torch.export.export(net, model.features(model.example_batch()), strict=True)).to_executorch().buffer


def export_onnx(model: ModelDef, path: Path) -> None:
    features = model.features(model.example_batch())
    names = [f"input_{i}" for i in range(len(features))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model.net.eval(),
            features,
            str(path),
            dynamo=False,
            input_names=names,
            output_names=["predictions"],
            dynamic_axes={n: {0: "batch"} for n in [*names, "predictions"]},
        )


def load_training_program(program: bytes) -> Any:  # executorch's TrainingModule (untyped binding)
    """ExecuTorch TrainingModule for a .pte's bytes. The binding reads weights from the buffer
    without owning it, so the module keeps a reference: a freed buffer silently changes the weights."""
    from executorch.extension.training import _load_for_executorch_for_training_from_buffer

    module = _load_for_executorch_for_training_from_buffer(program)
    module.program_buffer = program
    return module


def check_inputs(model: ModelDef) -> None:
    """The causes of an export failure that lie in the model's data rather than its layers, named
    before exporting (torch.export and ExecuTorch report them as unrelated op errors)."""
    batch = model.example_batch()
    roles = ["feature"] * model.n_features + ["label"] * (len(batch) - model.n_features)
    for i, t in enumerate(batch):
        if not isinstance(t, torch.Tensor):
            raise ExportError(
                f"Model '{model.name}': make_data returned {type(t).__name__} as input_{i}, expected a torch.Tensor."
            )
        if t.ndim == 0:
            raise ExportError(f"Model '{model.name}': input_{i} ({roles[i]}) is a scalar; make_data(n, seed) must return n rows.")
    lengths = [len(t) for t in batch]
    if any(n != model.batch_size for n in lengths):
        which = ", ".join(f"input_{i} ({roles[i]}) has {n}" for i, n in enumerate(lengths))
        raise ExportError(
            f"Model '{model.name}': make_data({model.batch_size}, seed) returned inputs of different lengths: {which} rows. "
            f"Every feature and label tensor needs {model.batch_size} rows (one per example)."
        )
    for i, t in enumerate(batch):
        if not t.is_contiguous():
            raise ExportError(
                f"Model '{model.name}': input_{i} ({roles[i]}, shape {list(t.shape)}, strides {list(t.stride())}) is not "
                "contiguous, and ExecuTorch's runtime reads inputs in memory order: make the tensor contiguous "
                "(`.contiguous()` on what make_data returns)."
            )


def verify_training_program(model: ModelDef, buffer: bytes) -> None:
    """Run one ExecuTorch training step and compare the loss with eager PyTorch: catches unsupported ops now."""
    batch = model.example_batch()
    with captured_native_stderr() as log:
        try:
            module = load_training_program(buffer)
            loss = float(module.forward_backward("forward", batch)[0])
            error = None
        except Exception as e:  # the runtime raises RuntimeError with an opaque code
            error = e
    if error is not None:
        # only an operator the runtime names is a layer to replace; anything else is reported as it is
        if op := failing_operator(log[0]):
            raise ExportError(
                f"Model '{model.name}': the exported training program does not run: operator {op} is not supported by "
                "ExecuTorch's runtime. Replace that layer (e.g. Conv1d -> Conv2d over (1, L)) and export again."
            )
        raise ExportError(f"Model '{model.name}': the exported training program does not run: {error}")
    with torch.no_grad():
        eager = float(model.training_module()(*batch)[0])
    if abs(loss - eager) > 1e-3 * max(1.0, abs(eager)):
        raise ExportError(f"Model '{model.name}': ExecuTorch loss {loss:.6f} differs from PyTorch eager {eager:.6f}.")


def cached_artifacts(model: ModelDef, folder: Path) -> Artifacts | None:
    """The cache entry in `folder` when it is complete; an unreadable one is exported again."""
    try:
        index = json.loads((folder / "manifests.json").read_text())
        manifests = {f: Manifest(**m) for f, m in index.items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return None
    if not all((folder / m.file).is_file() for m in manifests.values()):
        return None
    return Artifacts(model.name, folder, manifests, cached=True, export_seconds=0.0)


def export_model(model: ModelDef, cache_dir: Path | None = None) -> Artifacts:
    check_inputs(model)
    cache_dir = cache_dir or default_cache_dir()
    key = cache_key(model)
    folder = cache_dir / f"{model.name}-{key}"
    if cached := cached_artifacts(model, folder):
        return cached
    try:
        return _export(model, key, cache_dir, folder)
    except OSError as e:  # disk full, a read-only cache: not the model's fault
        raise UserError(
            f"cannot write the export cache {cache_dir}: {e.strerror or e}. Free space there or point FLINT_BENCH_CACHE elsewhere."
        ) from e


def _export(model: ModelDef, key: str, cache_dir: Path, folder: Path) -> Artifacts:
    start = time.perf_counter()
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{model.name}-", dir=cache_dir))
    try:
        try:
            training = export_training_program(model)
            verify_training_program(model, training)
            inference = export_inference_program(model)
            export_onnx(model, tmp / FORMATS["onnx"])
        except (ExportError, OSError):
            raise
        except Exception as e:
            first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ExportError(
                f"Model '{model.name}' cannot be exported: {type(e).__name__}: {first_line[:400]}. Check that every op is supported by torch.export and ExecuTorch."
            ) from None
        (tmp / FORMATS["executorch-training"]).write_bytes(training)
        (tmp / FORMATS["executorch"]).write_bytes(inference)
        seconds = time.perf_counter() - start
        manifests = {}
        for fmt, file in FORMATS.items():
            manifests[fmt] = Manifest(
                model=model.name,
                format=fmt,
                file=file,
                sha256=sha256_file(tmp / file),
                bytes=(tmp / file).stat().st_size,
                trainable_params=model.trainable_params,
                total_params=model.total_params,
                update_bytes=model.update_bytes,
                task=model.task,
                batch_size=model.batch_size,
                cache_key=key,
                export_seconds=round(seconds, 3),
                tool_versions=tool_versions(),
            )
        write_json_atomic(tmp / "manifests.json", {f: asdict(m) for f, m in manifests.items()}, indent=2)
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)  # an incomplete entry
        try:
            os.replace(tmp, folder)  # atomic: a cache entry is complete or absent
        except OSError:
            if cached := cached_artifacts(model, folder):
                return cached  # another run exported the same model meanwhile: same key, same content
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return Artifacts(model.name, folder, manifests, cached=False, export_seconds=seconds)


def export_models(models: list[ModelDef], out: Path | None = None) -> list[dict[str, Any]]:
    """Export each model (through the cache); with `out`, copy each model's artifacts to out/<model>.
    A model that cannot be exported gets a row with its error; the others are still exported."""
    rows: list[dict[str, Any]] = []
    for m in models:
        try:
            art = export_model(m)
        except ExportError as e:
            rows.append({"model": m.name, "error": str(e)})
            continue
        folder = art.folder
        if out:
            folder = out / m.name
            try:
                shutil.copytree(art.folder, folder, dirs_exist_ok=True)
            except OSError as e:
                raise UserError(f"cannot copy the artifacts of '{m.name}' to {folder}: {e}.") from e
        rows.append(
            {
                "model": m.name,
                "cached": art.cached,
                "folder": str(folder),
                "export_seconds": art.export_seconds,
                "artifacts": {f: asdict(man) for f, man in art.manifests.items()},
            }
        )
    return rows
