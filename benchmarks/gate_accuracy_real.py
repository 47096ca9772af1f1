"""The real-machine mode of `benchmarks/gate_accuracy.py` (`--real-trials N`).

It measures the way `flint-bench gate-bench` does (base and head interleaved ABBA, one repeat per
fresh worker, one worker thread) and gates each trial: N trials of identical code with a CPU hog
pinned to one core during every head repeat (every "fail" is a false alarm), alternating with N
trials of model B against a really slower variant on a quiet machine (every "fail" is a detection).

The slower variant is B with wider hidden layers: more multiply-adds per step, really slower code,
not a scaled clock. How much slower a width makes B depends on the machine (the embedding's SGD
update does not grow with the width), so the width is calibrated in the same run: candidate widths
are exported and timed step by step against B in this process (the worker's JointStepTrainer, one
thread, base and variant alternating in blocks), and the width whose measured per-step slowdown is
nearest the target is used. The examples per repeat are chosen from the same measurement, so every
repeat trains for about --real-repeat-s seconds (a 0.1 s repeat made its record's machine figures
clock noise: "others 50%" on a quiet machine). Every calibration figure is in the JSON.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

B_LAYERS = "nn.Linear(DIM + DENSE, 256), nn.ReLU(), nn.Linear(256, 144), nn.ReLU(), nn.Linear(144, 1)"


def slower_variant(folder: Path, width: float) -> Path:
    """A copy of model B with both hidden layers `width` times wider."""
    from flint_bench.zoo import zoo_files

    source = zoo_files()["b_sparse_mlp"].read_text()
    h1, h2 = round(256 * width), round(144 * width)
    if B_LAYERS not in source:
        raise SystemExit("models/b_sparse_mlp.py changed: update B_LAYERS in this benchmark")
    folder.mkdir(parents=True, exist_ok=True)
    wide = f"nn.Linear(DIM + DENSE, {h1}), nn.ReLU(), nn.Linear({h1}, {h2}), nn.ReLU(), nn.Linear({h2}, 1)"
    (folder / "b_sparse_mlp.py").write_text(source.replace(B_LAYERS, wide))
    return folder


# -- calibration: which width is really +30%, measured here and now ------------------------------------


@dataclass
class WidthMeasurement:
    width: float
    ratio: float  # median variant step / median base step, over all blocks
    block_ratios: list[float]  # per alternating block: the spread of the figure
    base_step_s: float
    variant_step_s: float


@dataclass
class Calibration:
    target: float
    tolerance: float
    measured: list[WidthMeasurement] = field(default_factory=list)

    @property
    def best(self) -> WidthMeasurement:
        return min(self.measured, key=lambda m: abs(math.log(m.ratio / self.target)))

    def fitted_width(self) -> float:
        """The width a power law ratio = width^k, fitted to every measurement so far (least squares
        through the origin on the log scale: one noisy block of steps weighs less), gives the target."""
        lw = np.log([m.width for m in self.measured])
        lr = np.log([max(m.ratio, 1.001) for m in self.measured])
        k = float(np.sum(lw * lr) / np.sum(lw * lw))
        return round(math.exp(math.log(self.target) / k), 3)

    @property
    def met(self) -> bool:
        return abs(self.best.ratio / self.target - 1) <= self.tolerance


Batches = list[tuple[Any, ...]]


def _trainer(folder: Path, model: str) -> tuple[Any, Any]:
    """Export the model of `folder` (the usual cache, which the trials reuse) and load its training
    program as the worker does; with its ModelDef."""
    from flint_bench.bench.training import JointStepTrainer
    from flint_bench.export import export_model
    from flint_bench.gate.bench import side_model

    m = side_model(folder, model, "calibration")
    artifacts = export_model(m)
    return JointStepTrainer(artifacts.path("executorch-training").read_bytes(), "forward", m.lr), m


def trial_batches(m: Any, examples: int) -> Batches:
    """The batches a trial's worker trains on: the same data file contents (seed 0), whole batches."""
    from flint_bench.bench.worker import whole_batches

    return whole_batches(m.make_data(max(examples, m.batch_size), 0), examples, m.batch_size)


def _steps(trainer: Any, batches: Batches, first: int, n: int) -> list[float]:
    out = []
    for i in range(first, first + n):
        t = time.perf_counter()
        trainer.step(batches[i % len(batches)])
        out.append(time.perf_counter() - t)
    return out


def measure_width(
    base: Any, batches: Batches, variant_dir: Path, width: float, model: str, blocks: int, steps: int
) -> WidthMeasurement:
    """Base and variant alternate in ABBA blocks of `steps` steps in this process (one thread), block
    b of both sides on the same batches, walking through the trial's data."""
    variant, _ = _trainer(variant_dir, model)
    sides = {"base": base, "variant": variant}
    for trainer in sides.values():
        _steps(trainer, batches, 0, 10)  # warm-up: first steps allocate
    times: dict[str, list[list[float]]] = {"base": [], "variant": []}
    for b in range(blocks):
        for side in ("base", "variant") if b % 2 == 0 else ("variant", "base"):
            times[side].append(_steps(sides[side], batches, b * steps, steps))
    base_med = float(np.median(np.concatenate(times["base"])))
    var_med = float(np.median(np.concatenate(times["variant"])))
    return WidthMeasurement(
        width=width,
        ratio=var_med / base_med,
        block_ratios=[round(float(np.median(v) / np.median(b)), 4) for v, b in zip(times["variant"], times["base"], strict=True)],
        base_step_s=base_med,
        variant_step_s=var_med,
    )


def calibrate(args: argparse.Namespace, zoo: Path, work: Path) -> tuple[Calibration, int]:
    """The examples per repeat (unless given: enough whole batches for --real-repeat-s seconds at
    the base's measured step time), then widths tried until one measures within the tolerance of
    the target slowdown on the trial's own data (each next width from a power law ratio = width^k
    fitted to every measurement so far)."""
    from flint_bench.bench.training import set_threads

    set_threads(1)  # as the trials' workers run
    base, m = _trainer(zoo, args.real_model)
    examples = args.real_examples
    if examples is None:
        probe = trial_batches(m, m.batch_size * 20)
        _steps(base, probe, 0, 10)
        step_s = float(np.median(_steps(base, probe, 0, 60)))
        examples = max(1, math.ceil(args.real_repeat_s / step_s)) * m.batch_size
        print(f"  calibration: B step {step_s * 1000:.2f} ms: {examples} examples per repeat", flush=True)
    batches = trial_batches(m, examples)
    cal = Calibration(args.real_target, args.real_tolerance)
    width = args.real_width or args.real_target  # first guess: step time proportional to width
    for i in range(1 if args.real_width else args.real_calibration_steps):
        folder = slower_variant(work / f"width-{i}", width)
        wm = measure_width(
            base, batches, folder, width, args.real_model, args.real_calibration_blocks, args.real_calibration_block_steps
        )
        cal.measured.append(wm)
        print(f"  calibration: width x{width:.3f} measures x{wm.ratio:.3f} per step (blocks {wm.block_ratios})", flush=True)
        if cal.met or wm.ratio <= 1.0:
            break
        width = cal.fitted_width()
    return cal, examples


# -- the trials ---------------------------------------------------------------------------------------


class Hog:
    """A busy loop pinned to the last CPU: another process holding one core, as on a shared runner."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.core = (os.cpu_count() or 1) - 1

    def start(self) -> None:
        core = self.core
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "while True: pass"], preexec_fn=lambda: os.sched_setaffinity(0, {core})
        )

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None


class Trials:
    """One kind of gate-bench trial: "hog" (identical code, a hog during every head repeat: every
    fail is a false alarm) or "slower" (B against its wider variant: every fail is a detection)."""

    def __init__(self, kind: str, args: argparse.Namespace, base_dir: Path, head_dir: Path, work: Path) -> None:
        from flint_bench.gate import GateSettings
        from flint_bench.gate.bench import BenchPlan, side_model

        self.kind, self.work = kind, work
        self.settings = GateSettings(threshold=args.threshold, alpha=args.alpha)
        self.plan = BenchPlan(rounds=args.real_rounds, examples=args.real_examples, threads=1)
        self.models = {
            "base": [side_model(base_dir, args.real_model, "base")],
            "head": [side_model(head_dir, args.real_model, "head")],
        }
        self.hog = Hog()
        self.statuses: dict[str, int] = {}
        self.ratios: list[float | None] = []
        self.messages: list[str] = []
        self.repeat_medians: list[dict[str, list[float]]] = []  # ms per example, per repeat, per side
        self.others: list[list[float | None]] = []
        self.trial_seconds: list[float] = []

    def before(self, rnd: int, side: str) -> None:
        if self.kind == "hog" and side == "head":
            self.hog.start()

    def run_one(self) -> None:
        from flint_bench.gate.bench import measure_interleaved

        t0, trial = time.perf_counter(), len(self.ratios)
        try:
            out = self.work / self.kind / f"trial-{trial}"
            sides = measure_interleaved(self.models, self.plan, out, before=self.before, after=lambda r, s: self.hog.stop())
        finally:
            self.hog.stop()
        self.judge(sides, time.perf_counter() - t0)

    def judge(self, sides: dict, seconds: float) -> None:
        """Gate one trial's records and tally the verdict."""
        from flint_bench.core.records import per_repeat_samples
        from flint_bench.gate import evaluate

        trial = len(self.ratios)
        case = next(c for c in evaluate(sides["head"], sides["base"], {}, self.settings).cases if c.metric == "train_time")
        v = case.verdicts[0]
        self.statuses[case.status] = self.statuses.get(case.status, 0) + 1
        self.ratios.append(v.ratio)
        self.messages.append(f"{case.status}: {v.message}")
        self.repeat_medians.append(
            {
                side: [round(float(np.median(r)) * 1e3, 4) for rec in sides[side] for r in per_repeat_samples(rec)]
                for side in ("base", "head")
            }
        )
        self.others.append(
            [m["others_cpu_share"] if (m := r.get("machine")) else None for side in ("base", "head") for r in sides[side]]
        )
        self.trial_seconds.append(round(seconds, 1))
        print(f"  {self.kind} trial {trial}: {case.status}: {v.message}  (load {os.getloadavg()[0]:.2f})", flush=True)

    def summary(self) -> dict:
        n, flagged = len(self.ratios), self.statuses.get("fail", 0)
        known = [r for r in self.ratios if r is not None]
        return {
            "trials": n,
            "statuses": self.statuses,
            "flagged": flagged,
            "flagged_rate": flagged / n if n else None,
            "median_ratio_of_trials": float(np.median(known)) if known else None,
            "ratios": self.ratios,
            "messages": self.messages,
            "repeat_medians_ms_per_example": self.repeat_medians,
            "others_cpu_share_base_then_head": self.others,
            "trial_seconds": self.trial_seconds,
        }


def real_machine_mode(args: argparse.Namespace) -> dict:
    """False alarms with a hog on one core during the head; detections of a really slower model."""
    import flint_bench.models
    from flint_bench.core.contract import host_info

    t0, load_start = time.perf_counter(), os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="gate-accuracy-") as tmp:
        work = args.keep or Path(tmp)
        zoo = Path(flint_bench.models.__path__[0])
        calibration: Calibration | None = None
        if args.real_from:  # re-gate kept trials with the gate as it is now, measuring nothing
            slow = slower_variant(Path(tmp) / "slower", args.real_width or args.real_target)
            args.real_examples = args.real_examples or 1  # recorded, not used: nothing is measured
        else:
            calibration, args.real_examples = calibrate(args, zoo, Path(tmp) / "calibration")
            slow = slower_variant(Path(tmp) / "slower", calibration.best.width)
        hog, slower = Trials("hog", args, zoo, zoo, work), Trials("slower", args, zoo, slow, work)
        if args.real_from:
            from flint_bench.core.results import load_records

            for trials in (hog, slower):
                for folder in sorted((args.real_from / trials.kind).glob("trial-*"), key=lambda p: int(p.name[6:])):
                    trials.judge({side: load_records(folder / side) for side in ("base", "head")}, 0.0)
            args.real_trials = 0
        # the two kinds alternate trial by trial, so both get the same machine and, when the time
        # budget ends the run early, the same number of trials
        while len(slower.ratios) < args.real_trials and time.perf_counter() - t0 < args.real_budget_s:
            hog.run_one()
            slower.run_one()
        hog_summary, slower_summary = hog.summary(), slower.summary()
    return {
        "benchmark": "gate_accuracy",
        "mode": "real-machine",
        "model": args.real_model,
        "rounds_per_side": args.real_rounds,
        "examples_per_repeat": args.real_examples,
        "threads": 1,
        "calibration": None
        if calibration is None
        else {
            "target": calibration.target,
            "tolerance": calibration.tolerance,
            "met": calibration.met,
            "width_factor": calibration.best.width,
            "measured_step_ratio": calibration.best.ratio,
            "base_step_s": calibration.best.base_step_s,
            "tried": [asdict(m) for m in calibration.measured],
        },
        "threshold": args.threshold,
        "alpha": args.alpha,
        "hog_false_alarms": hog_summary,
        "slower_detections": slower_summary,
        "budget_s": args.real_budget_s,
        "cpus": os.cpu_count(),
        "loadavg_start": list(load_start),
        "loadavg_end": list(os.getloadavg()),
        "commit": host_info()["commit"],
        "seconds": round(time.perf_counter() - t0, 1),
    }


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--real-trials", type=int, default=0, help="real-machine mode: N hog trials and N slower-model trials")
    ap.add_argument("--real-model", default="B", help="real-machine mode: the model (a zoo name)")
    ap.add_argument("--real-rounds", type=int, default=6, help="real-machine mode: repeats per side per trial, interleaved")
    ap.add_argument("--real-examples", type=int, help="real-machine mode: examples per repeat (default: from --real-repeat-s)")
    ap.add_argument("--real-repeat-s", type=float, default=1.0, help="real-machine mode: seconds of training per repeat")
    ap.add_argument(
        "--real-target", type=float, default=1.30, help="real-machine mode: the slowdown the slower variant should measure"
    )
    ap.add_argument(
        "--real-tolerance", type=float, default=0.03, help="real-machine mode: calibration accepts target x (1 +- this)"
    )
    ap.add_argument(
        "--real-width", type=float, help="real-machine mode: use this width factor (measured once) instead of calibrating"
    )
    ap.add_argument("--real-calibration-steps", type=int, default=4, help="real-machine mode: widths tried at most")
    ap.add_argument("--real-calibration-blocks", type=int, default=12, help="real-machine mode: alternating blocks per width")
    ap.add_argument("--real-calibration-block-steps", type=int, default=80, help="real-machine mode: steps per block")
    ap.add_argument("--real-from", type=Path, help="real-machine mode: re-gate the trials kept by an earlier --keep run")
    ap.add_argument("--real-budget-s", type=float, default=540, help="real-machine mode: start no trial after this many seconds")
