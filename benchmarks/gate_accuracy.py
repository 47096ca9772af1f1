"""How often does `flint-bench gate` cry wolf, and how often does it catch a real slowdown?

Takes the per-step samples of a REAL local-farm result (runs the farm unless --results is given),
then over many seeds draws base and head by resampling those samples (the measured distribution,
not a model of it), slows the head by a factor, and applies the gate's regression check.
  false-alarm rate = share of seeds flagged at factor 1.0 (noise only)
Each side is split into repeats; the "drift" variants also scale each repeat by a random factor
with the spread the real run's repeat medians showed (the machine's state changing between
repeats), once with the gate's repeat check and once without it.
  detection rate   = share of seeds flagged at factor > 1.0
With --real-pairs N it also measures N pairs of identical code the way CI does (--rounds
alternating base/head rounds on this machine, pooled) and gates them: every flag is a false alarm
with every source of run-to-run noise included.

With --real-trials N (the real-machine mode) it measures the way
`flint-bench gate-bench` does (base and head interleaved per repeat, one worker thread) and gates
each trial: N trials of identical code with a CPU hog pinned to one core during every head repeat
(every "fail" is a false alarm), and N trials of model B against a really wider, slower variant on
a quiet machine (every "fail" is a detection). Run it under the exclusive lock.
The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from flint_bench.core.records import per_example_samples, per_repeat_samples
from flint_bench.core.results import load_records
from flint_bench.gate import GateSettings, SampleRegression, evaluate


def run_farm(out: Path, models: list[str], examples: int, repeats: int) -> list[dict]:
    from flint_bench.farms import FarmFile, open_farm
    from flint_bench.farms.base import RunSettings
    from flint_bench.farms.local import LocalSettings
    from flint_bench.runner import run_benchmarks
    from flint_bench.zoo import load_models

    with open_farm(FarmFile(kind="local", name="local", settings=LocalSettings())) as farm:
        run_benchmarks(farm, load_models(models), RunSettings(examples=examples, repeats=repeats, warmup_steps=3), out)
    return [r for r in load_records(out) if r["status"] == "ok"]


def draw(rng: np.random.Generator, samples: np.ndarray, n: int, repeats: int, drift_sigma: float) -> list[np.ndarray]:
    """n resampled per-step samples split into `repeats` repeats; each repeat scaled by its own
    lognormal(0, drift_sigma) factor: the machine's state changing between repeats and runs."""
    return [
        part * rng.lognormal(0.0, drift_sigma) if drift_sigma else part
        for part in np.array_split(rng.choice(samples, n, replace=True), repeats)
    ]


def rates(
    samples: np.ndarray,
    settings: GateSettings,
    n: int,
    factors: list[float],
    seeds: int,
    repeats: int = 3,
    drift_sigma: float = 0.0,
) -> dict:
    check = SampleRegression(settings)
    out = {}
    for f in factors:
        flagged = cannot = 0
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            base = draw(rng, samples, n, repeats, drift_sigma)
            head = [rep * f for rep in draw(rng, samples, n, repeats, drift_sigma)]
            v = check(np.concatenate(head), np.concatenate(base), head, base)
            flagged += v.status == "fail"
            cannot += v.status == "cannot-judge"
        out[f"x{f:g}"] = {"flagged": flagged / seeds, "cannot_judge": cannot / seeds}
    return out


def drift_sigma_of(record: dict) -> float:
    """The spread of the repeat medians of one real run (log scale): how much the machine drifts."""
    meds = [np.median(r) for r in per_repeat_samples(record) if r]
    return float(np.std(np.log(meds), ddof=1)) if len(meds) > 1 else 0.0


# -- the real-machine mode ----------------------------------------------------------------------------

B_LAYERS = "nn.Linear(DIM + DENSE, 256), nn.ReLU(), nn.Linear(256, 144), nn.ReLU(), nn.Linear(144, 1)"


def slower_variant(folder: Path, width: float) -> Path:
    """A copy of model B with both hidden layers `width` times wider (more multiply-adds per step:
    really slower code, not a scaled clock)."""
    from flint_bench.zoo import zoo_files

    source = zoo_files()["b_sparse_mlp"].read_text()
    h1, h2 = round(256 * width), round(144 * width)
    if B_LAYERS not in source:
        raise SystemExit("models/b_sparse_mlp.py changed: update B_LAYERS in this benchmark")
    folder.mkdir(parents=True, exist_ok=True)
    wide = f"nn.Linear(DIM + DENSE, {h1}), nn.ReLU(), nn.Linear({h1}, {h2}), nn.ReLU(), nn.Linear({h2}, 1)"
    (folder / "b_sparse_mlp.py").write_text(source.replace(B_LAYERS, wide))
    return folder


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
        from flint_bench.gate import evaluate

        trial = len(self.ratios)
        case = next(c for c in evaluate(sides["head"], sides["base"], {}, self.settings).cases if c.metric == "train_time")
        v = case.verdicts[0]
        self.statuses[case.status] = self.statuses.get(case.status, 0) + 1
        self.ratios.append(v.ratio)
        self.others.append(
            [m["others_cpu_share"] if (m := r.get("machine")) else None for side in ("base", "head") for r in sides[side]]
        )
        self.trial_seconds.append(round(seconds, 1))
        print(f"  {self.kind} trial {trial}: {case.status}: {v.message}", flush=True)

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
            "others_cpu_share_base_then_head": self.others,
            "trial_seconds": self.trial_seconds,
        }


def real_machine_mode(args: argparse.Namespace) -> dict:
    """False alarms with a hog on one core during the head; detections of a really slower model."""
    import flint_bench.models
    from flint_bench.core.contract import host_info

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gate-accuracy-") as tmp:
        work = args.keep or Path(tmp)
        zoo = Path(flint_bench.models.__path__[0])
        slow = slower_variant(Path(tmp) / "slower", args.real_width)
        hog, slower = Trials("hog", args, zoo, zoo, work), Trials("slower", args, zoo, slow, work)
        if args.real_from:  # re-gate kept trials with the gate as it is now, measuring nothing
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
        "width_factor": args.real_width,
        "threshold": args.threshold,
        "alpha": args.alpha,
        "hog_false_alarms": hog_summary,
        "slower_detections": slower_summary,
        "budget_s": args.real_budget_s,
        "cpus": os.cpu_count(),
        "load_1min_end": os.getloadavg()[0],
        "commit": host_info()["commit"],
        "seconds": round(time.perf_counter() - t0, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", type=Path, help="an existing results folder (default: run the local farm now)")
    ap.add_argument("--models", nargs="+", default=["A", "B"])
    ap.add_argument("--examples", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seeds", type=int, default=500)
    ap.add_argument("--sizes", type=int, nargs="+", default=[9, 18, 45], help="per-step samples per side (split into 3 repeats)")
    ap.add_argument("--factors", type=float, nargs="+", default=[1.0, 1.05, 1.1, 1.2, 1.3, 1.5])
    ap.add_argument("--min-drift", type=float, default=0.03, help="smallest between-repeat drift (log sd) to simulate")
    ap.add_argument("--threshold", type=float, default=GateSettings.threshold)
    ap.add_argument("--alpha", type=float, default=GateSettings.alpha)
    ap.add_argument("--real-pairs", type=int, default=0, help="also gate N pairs of real back-to-back local-farm runs")
    ap.add_argument("--rounds", type=int, default=2, help="alternating base/head rounds per real pair")
    ap.add_argument("--keep", type=Path, help="keep the result folders of the runs here (default: a temporary folder)")
    ap.add_argument("--real-trials", type=int, default=0, help="real-machine mode: N hog trials and N slower-model trials")
    ap.add_argument("--real-model", default="B", help="real-machine mode: the model (a zoo name)")
    ap.add_argument("--real-rounds", type=int, default=2, help="real-machine mode: repeats per side per trial, interleaved")
    ap.add_argument("--real-examples", type=int, default=480, help="real-machine mode: examples per repeat")
    ap.add_argument("--real-width", type=float, default=1.17, help="real-machine mode: hidden-width factor of the slower variant")
    ap.add_argument("--real-from", type=Path, help="real-machine mode: re-gate the trials kept by an earlier --keep run")
    ap.add_argument("--real-budget-s", type=float, default=540, help="real-machine mode: start no trial after this many seconds")
    args = ap.parse_args()
    if args.real_trials or args.real_from:
        print(json.dumps(real_machine_mode(args)))
        return

    settings = GateSettings(threshold=args.threshold, alpha=args.alpha)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = args.keep or tmp
        records = (
            [r for r in load_records(args.results) if r["status"] == "ok"]
            if args.results
            else run_farm(Path(tmp) / "r0", args.models, args.examples, args.repeats)
        )
        per_model = {}
        no_check = GateSettings(threshold=args.threshold, alpha=args.alpha, repeat_check=False)
        for rec in records:
            samples = np.asarray(per_example_samples(rec))
            sigma = max(drift_sigma_of(rec), args.min_drift)
            entry = {
                "measured_samples": int(samples.size),
                "measured_cv": float(samples.std(ddof=1) / samples.mean()),
                "drift_sigma": sigma,
            }
            for n in args.sizes:
                entry[f"n={n}"] = rates(samples, settings, n, args.factors, args.seeds)
                entry[f"n={n} drift"] = rates(samples, settings, n, args.factors, args.seeds, drift_sigma=sigma)
                entry[f"n={n} drift, no repeat check"] = rates(samples, no_check, n, args.factors, args.seeds, drift_sigma=sigma)
            per_model[f"{rec['model']['name']}@{rec['device']['id']}"] = entry
            print(
                f"{rec['model']['name']} on {rec['device']['id']}: {samples.size} samples, CV {entry['measured_cv']:.2f}, "
                f"drift between repeats {sigma:.1%}",
                flush=True,
            )
            for key, r in entry.items():
                if key.startswith("n="):
                    print(f"  {key:32s} " + "  ".join(f"{k}: {v['flagged']:6.1%}" for k, v in r.items()), flush=True)

        real = None
        if args.real_pairs:
            # CI's design: base and head measured in alternating rounds (B H, H B, ...) on the same
            # machine, rounds pooled; both sides run the same code, so every flag is a false alarm
            out = {
                "pairs": args.real_pairs,
                "rounds": args.rounds,
                "model_device_cases": 0,
                "false_alarms": 0,
                "cannot_judge": 0,
                "improved": 0,
                "single_round_false_alarms": 0,
                "single_round_cases": 0,
            }
            for i in range(args.real_pairs):
                sides = {"base": [], "head": []}
                for rnd in range(args.rounds):
                    for side in ("base", "head") if rnd % 2 == 0 else ("head", "base"):
                        sides[side].append(
                            run_farm(Path(tmp) / f"pair{i}" / side / f"round-{rnd}", args.models, args.examples, args.repeats)
                        )
                first = evaluate(sides["head"][0], sides["base"][0], {}, settings)
                single = [c for c in first.cases if c.metric == "train_time"]
                out["single_round_cases"] += len(single)
                out["single_round_false_alarms"] += sum(c.failed for c in single)
                res = evaluate([r for rs in sides["head"] for r in rs], [r for rs in sides["base"] for r in rs], {}, settings)
                timing = [c for c in res.cases if c.metric == "train_time"]
                out["model_device_cases"] += len(timing)
                out["false_alarms"] += sum(c.failed for c in timing)
                out["cannot_judge"] += sum(c.status == "cannot-judge" for c in timing)
                out["improved"] += sum(c.status == "improved" for c in timing)
                for c in timing:
                    print(f"  pair {i} {c.model}@{c.device}: {c.status}: {c.verdicts[0].message}", flush=True)
            out["false_alarm_rate"] = out["false_alarms"] / out["model_device_cases"] if out["model_device_cases"] else None
            real = out
            print(
                f"real runs, {args.rounds} alternating rounds pooled: {out['false_alarms']} false alarms in {out['model_device_cases']} "
                f"comparisons ({out['cannot_judge']} cannot judge); first round alone: {out['single_round_false_alarms']} "
                f"in {out['single_round_cases']}",
                flush=True,
            )

    def pooled(factor: str, key: str) -> float:
        return float(np.mean([m[key][factor]["flagged"] for m in per_model.values()]))

    summary = {
        "benchmark": "gate_accuracy",
        "threshold": args.threshold,
        "alpha": args.alpha,
        "seeds": args.seeds,
        "examples": args.examples,
        "repeats": args.repeats,
        "sizes": args.sizes,
        "false_alarm_rate": {
            f"n={n}{v}": pooled("x1", f"n={n}{v}") for n in args.sizes for v in ("", " drift", " drift, no repeat check")
        },
        "detection_rate_x1.3": {
            f"n={n}{v}": pooled("x1.3", f"n={n}{v}") for n in args.sizes for v in ("", " drift", " drift, no repeat check")
        }
        if 1.3 in args.factors
        else None,
        "per_model": per_model,
        "real_pairs": real,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
