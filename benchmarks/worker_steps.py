"""Per-step training time of the local reference app, before and after it matched the phone apps.

Before: ExecuTorch's Python `TrainingModule` wrapper (what the worker used): per step it runs the
two index methods, the joint method and the FQN method, and clones every output and gradient.
After: `flint_bench.bench.training.JointStepTrainer` (the C++ TrainingModule's work: one joint
method run, gradients and parameters aliased, ExecuTorch's SGD in place).

Both paths train the same model in the same process on ExecuTorch's pool of `--threads` threads,
in alternating blocks (before, after, before, ...) so drift of the machine hits both alike. Prints
a table and, as the last line, one JSON object: per model the median step time of each path in ms,
their ratio, the per-step difference, and the losses of both paths' first steps (they must agree).

    python benchmarks/worker_steps.py [--models A B C D E] [--seconds 4] [--blocks 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from typing import Any

from flint_bench.bench.training import JointStepTrainer, set_threads
from flint_bench.export import export_model, load_training_program
from flint_bench.zoo import load_model


class WrapperTrainer:
    """The old worker's step: ExecuTorch's Python TrainingModule wrapper and its SGD."""

    def __init__(self, program: bytes, lr: float):
        self.module, self.lr, self.optimizer = load_training_program(program), lr, None

    def step(self, batch: Any) -> float:
        from executorch.extension.training import get_sgd_optimizer

        loss = float(self.module.forward_backward("forward", batch)[0])
        self.optimizer = self.optimizer or get_sgd_optimizer(self.module.named_parameters(), self.lr, 0, 0, 0, False)
        self.optimizer.step(self.module.named_gradients())
        return loss


def timed_steps(trainer: Any, batches: list[Any], n: int, offset: int) -> list[float]:
    times = []
    for i in range(n):
        t = time.perf_counter()
        trainer.step(batches[(offset + i) % len(batches)])
        times.append(time.perf_counter() - t)
    return times


def measure(name: str, seconds: float, blocks: int) -> dict[str, Any]:
    model = load_model(name)
    program = export_model(model).path("executorch-training").read_bytes()
    data = model.make_data(64 * model.batch_size, seed=5)
    batches = [tuple(t[i * model.batch_size : (i + 1) * model.batch_size].contiguous() for t in data) for i in range(64)]
    paths = {"before": WrapperTrainer(program, model.lr), "after": JointStepTrainer(program, "forward", model.lr)}
    first = {k: [p.step(b) for b in batches[:3]] for k, p in paths.items()}  # also the warm-up
    probe = statistics.median(timed_steps(paths["after"], batches, 5, 3))
    n = max(5, round(seconds / blocks / max(probe, 1e-6)))  # steps per block
    times: dict[str, list[float]] = {"before": [], "after": []}
    for block in range(blocks):
        for key, trainer in paths.items():
            times[key] += timed_steps(trainer, batches, n, block * n)
    before, after = (statistics.median(times[k]) * 1000 for k in ("before", "after"))
    return {
        "batch_size": model.batch_size,
        "steps_per_path": len(times["after"]),
        "before_ms": round(before, 4),
        "after_ms": round(after, 4),
        "after_over_before": round(after / before, 3),
        "saved_ms_per_step": round(before - after, 4),
        "first_losses_agree": all(
            abs(a - b) <= 1e-6 * max(1.0, abs(a)) for a, b in zip(first["before"], first["after"], strict=True)
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["A", "B", "C", "D", "E"])
    parser.add_argument("--seconds", type=float, default=4.0, help="timed seconds per path and model (about)")
    parser.add_argument("--blocks", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="ExecuTorch thread pool size for both paths")
    args = parser.parse_args()

    threads = set_threads(args.threads)
    figures: dict[str, Any] = {"threads": threads, "load_1min_start": round(os.getloadavg()[0], 2), "models": {}}
    print(
        f"{'model':<6}{'batch':>6}{'steps':>7}{'before ms':>12}{'after ms':>11}{'after/before':>14}{'saved ms':>10}", flush=True
    )
    for name in args.models:
        m = measure(name, args.seconds, args.blocks)
        figures["models"][name] = m
        print(
            f"{name:<6}{m['batch_size']:>6}{m['steps_per_path']:>7}{m['before_ms']:>12.4f}{m['after_ms']:>11.4f}"
            f"{m['after_over_before']:>14.3f}{m['saved_ms_per_step']:>10.4f}",
            flush=True,
        )
    figures["load_1min_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
