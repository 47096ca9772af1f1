"""Reference implementation of the benchmark app: spec in, result out (device_apps/contract).

Runs as `python -m flint_bench.bench.worker SPEC.json RESULT.json [--sustained-s SECONDS]` in a
fresh process. It trains through ExecuTorch's runtime with the per-step work of the phone apps' C++
TrainingModule (bench/training.py) and ExecuTorch's SGD, timing every step, on ExecuTorch's own
thread pool sized to the spec's `threads`. It prints `PHASE <name>` lines so the host knows which
CPU and memory samples belong to training. With `--sustained-s` it then keeps training that long
and reports throughput per window (the record's `sustained` section). The Android and iOS apps
implement the same contract.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.units import bytes_to_mib

if TYPE_CHECKING:
    import torch

    from flint_bench.core.records import BenchmarkSection, ModelSection, Record, SustainedSection, SustainedWindow

    from .training import JointStepTrainer

Batch = tuple["torch.Tensor", ...]


def phase(name: str) -> None:
    print(f"PHASE {name}", flush=True)


def resolve(spec_path: Path, p: str | None) -> Path | None:
    if p is None:
        return None
    path = Path(p)
    return path if path.is_absolute() else spec_path.parent / path


def required(spec_path: Path, p: str | None, what: str) -> Path:
    path = resolve(spec_path, p)
    if path is None:
        raise ValueError(f"the spec names no {what}")
    return path


def load_batches(spec: dict[str, Any], spec_path: Path) -> list[Batch]:
    import numpy as np
    import torch

    data_file = required(spec_path, spec["data"]["file"], "data file")
    with np.load(data_file) as npz:
        arrays = [torch.from_numpy(npz[item["name"]]) for item in spec["data"]["inputs"]]
    n, b = spec["examples"], spec["batch_size"]
    if arrays[0].shape[0] < max(n, b):
        raise ValueError(f"data file {data_file} has {arrays[0].shape[0]} examples, spec asks for {max(n, b)}")
    return whole_batches(arrays, n, b)


def whole_batches(arrays: Sequence[torch.Tensor], n: int, b: int) -> list[Batch]:
    """The batches of `b` examples among the first `n` (at least one batch): ExecuTorch programs have static
    shapes, so only whole batches are trained."""
    return [tuple(a[i : i + b].contiguous() for a in arrays) for i in range(0, max(n - b + 1, 1), b)]


def inference_latency(path: Path, batch: Batch, n_features: int, runs: int = 20) -> list[float]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feeds = {i.name: batch[k].numpy() for k, i in enumerate(session.get_inputs()[:n_features])}
    for _ in range(3):
        session.run(None, feeds)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        session.run(None, feeds)
        times.append((time.perf_counter() - t) * 1000)
    return times


def sustained(trainer: JointStepTrainer, batches: list[Batch], seconds: float) -> SustainedSection:
    """Train for `seconds`, cycling through the batches, and measure throughput per window (a tenth
    of the run, at most a minute): a last window slower than the first shows throttling."""
    window_s = min(60.0, seconds / 10)
    windows: list[SustainedWindow] = []
    rates: list[float] = []
    start = time.perf_counter()
    i = 0
    while (now := time.perf_counter()) - start < seconds:
        w_start, examples = now, 0
        while (now := time.perf_counter()) - w_start < window_s and now - start < seconds:
            trainer.step(batches[i % len(batches)])
            examples += int(batches[i % len(batches)][0].shape[0])
            i += 1
        rates.append(examples / (now - w_start))
        windows.append({"t_s": w_start - start, "examples_per_s": rates[-1], "thermal_status": None})
    first, last = rates[0], rates[-1]
    return {
        "minutes": seconds / 60,
        "windows": windows,
        "first_last_ratio": first / last if last > 0 else None,
        "thermal_max": None,
        "method": f"examples / wall seconds per {window_s:g} s window; this machine exposes no thermal status",
    }


def run(spec_path: Path, sustained_s: float | None = None) -> Record:
    import psutil

    from flint_bench.core import contract
    from flint_bench.core.stats import mean_std, summarize

    spec = json.loads(spec_path.read_text())
    contract.validate("spec", spec)
    model: ModelSection = {
        "name": spec["model"]["name"],
        "format": spec["model"]["format"],
        "artifact_sha256": spec["model"]["sha256"],
        "trainable_params": None,
        "total_params": None,
        "storage_bytes": None,
        "update_bytes": None,
        "task": None,
    }
    bench: BenchmarkSection = {
        "examples": spec["examples"],
        "batch_size": spec["batch_size"],
        "epochs": spec["epochs"],
        "warmup_steps": spec["warmup_steps"],
        "repeats": spec["repeats"],
        "seed": spec["seed"],
    }
    record = contract.blank_record(
        spec["run_id"],
        model,
        {
            "id": "local",
            "farm": "local",
            "manufacturer": None,
            "model": None,
            "soc": None,
            "os": None,
            "os_version": None,
            "abi": None,
            "cores": os.cpu_count(),
            "memory_mb": None,
            "emulator": False,
        },
        bench,
    )
    try:
        import executorch

        from .training import JointStepTrainer, set_threads

        record["runtime"] = {
            "name": "executorch",
            "version": getattr(executorch, "__version__", None) or _dist_version("executorch"),
            "threads": set_threads(spec.get("threads")),  # what the runtime's pool has, not what was asked
        }
        artifact = required(spec_path, spec["model"]["artifact"], "model artifact")
        program = artifact.read_bytes()
        if hashlib.sha256(program).hexdigest() != spec["model"]["sha256"]:
            return contract.fail(
                record,
                contract.FailureKind.CORRUPT_MODEL,
                f"{artifact}: sha256 does not match the spec; the model file is corrupt or was replaced.",
            )
        batches = load_batches(spec, spec_path)

        baseline_mb = bytes_to_mib(psutil.Process().memory_info().rss)
        phase("train_start")
        t0 = time.perf_counter()
        trainer = JointStepTrainer(program, spec["model"]["method"], spec["learning_rate"])
        first_loss = trainer.step(batches[0])
        record["timing"]["load_seconds"] = time.perf_counter() - t0
        for i in range(spec["warmup_steps"]):
            trainer.step(batches[i % len(batches)])

        step_seconds, step_examples = [], []
        loss = first_loss
        for _ in range(spec["repeats"]):
            times, sizes = [], []
            for _ in range(spec["epochs"]):
                for batch in batches:
                    t = time.perf_counter()
                    loss = trainer.step(batch)
                    times.append(time.perf_counter() - t)
                    sizes.append(int(batch[0].shape[0]))
            step_seconds.append(times)
            step_examples.append(sizes)
        if sustained_s:
            record["sustained"] = sustained(trainer, batches, sustained_s)
        phase("train_end")

        per_example = [
            t / n for rep_t, rep_n in zip(step_seconds, step_examples, strict=False) for t, n in zip(rep_t, rep_n, strict=False)
        ]
        per_5000 = [sum(t) / sum(n) * 5000 for t, n in zip(step_seconds, step_examples, strict=False)]
        mean, std = mean_std(per_5000)
        timing = record["timing"]
        timing["step_seconds"], timing["step_examples"] = step_seconds, step_examples
        timing["per_example_seconds"] = summarize(per_example)
        timing["seconds_per_5000"] = {"mean": mean, "std": std, "values": per_5000}
        # a diverged loss (NaN/inf) is reported as unknown, never written as NaN: the timings still hold
        first, last = (v if math.isfinite(v) else None for v in (first_loss, float(loss)))
        record["loss"] = {"first": first, "last": last}
        if first is None or last is None:
            record.setdefault("extra", {})["loss_diverged"] = True
        record["memory"] = {"peak_mb": None, "baseline_mb": baseline_mb, "peak_delta_mb": None, "method": "rss"}

        onnx_path = resolve(spec_path, spec["model"].get("inference_artifact"))
        if onnx_path is not None:
            record["timing"]["inference_ms"] = summarize(inference_latency(onnx_path, batches[0], spec["data"]["features"]))
            record["timing"]["inference_runtime"] = "onnxruntime " + _dist_version("onnxruntime")
        record["status"] = "ok"
        record["timestamps"]["finished"] = contract.now()
        return record
    except Exception as e:  # the app reports every failure as a record, never a crash
        return contract.fail(
            record, contract.FailureKind.RUNTIME, f"{type(e).__name__}: {e}".strip() + "\n" + traceback.format_exc(limit=3)
        )


def _dist_version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


def main(argv: list[str]) -> int:
    spec_path, result_path = Path(argv[0]), Path(argv[1])
    sustained_s = float(argv[3]) if len(argv) > 3 and argv[2] == "--sustained-s" else None
    from flint_bench.core.fileio import write_json_atomic

    write_json_atomic(result_path, run(spec_path, sustained_s))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
