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
import tempfile
import time
from pathlib import Path

import numpy as np
from gate_accuracy_real import add_arguments, real_machine_mode  # the real-machine mode, beside this file

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
    add_arguments(ap)
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
