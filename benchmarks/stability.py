"""Run-to-run stability of the local farm: the same benchmark of models A-E rerun several times.

Each rerun benchmarks every model on the local farm in a fresh worker. Per model it reports the
mean seconds per 5,000 examples of every rerun, the CV of those means (target <= 5 % on a quiet
machine), and the records' own stability blocks (per-step CV and the 0-1 score). The machine's load
and the other processes' CPU share (record.machine) are printed beside the figures: a busy machine
makes the CV a figure about the machine, not the model. The last line is one JSON object.

What made the reruns of an earlier version spread (A 15.7 %, B 10.2 %, E 7.8 % with 256 examples
x 1 repeat), and what this version does about it:
- Too short a measurement: 256 examples were 1.4 ms of training for A (8 steps) and 8-16 steps for
  B, D and E. Here a probe run first measures every model's seconds per example on this machine,
  and each model then trains enough whole batches that every repeat lasts --repeat-s seconds (the
  chosen examples are in the JSON), with warm-up steps worth --warmup-s seconds.
- The first run on a machine pays for cold caches (the exported programs, the Python modules and
  the data read from disk for the first time, CPU clocks ramping up). The probe run is that first
  run: it is reported in the JSON as the probe, and not counted as one of the reruns.
- The thread pool: the farm's default device sizes ExecuTorch's pool to one thread per core, so on
  this 2-vCPU machine any other activity (the harness's own sampling thread included) preempts one
  of the worker's threads. ExecuTorch's portable training kernels keep about one core busy anyway
  (docs/local-farm.md), so the device here runs one pool thread (--threads; 0 = one per core), and
  `runtime.threads` of the records (what the pool really had) is in the JSON.

    python benchmarks/stability.py [--reruns 5] [--repeat-s 2.5] [--repeats 2] [--threads 1] [--models A B C D E]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from flint_bench.core.records import Record
from flint_bench.core.stats import mean_std
from flint_bench.farms import FarmFile, open_farm
from flint_bench.farms.base import Farm, RunSettings
from flint_bench.farms.local import DeviceClass, LocalSettings
from flint_bench.runner import run_benchmarks
from flint_bench.zoo import ModelDef, load_models


def run_one(farm: Farm, model: ModelDef, settings: RunSettings, out: Path) -> Record:
    outcome = run_benchmarks(farm, [model], settings, out)  # the usual (warm) export cache
    return outcome.records[0]


def s_per_5000(record: Record) -> float | None:
    return record["timing"]["seconds_per_5000"]["mean"] if record["status"] == "ok" else None


def plan(args: argparse.Namespace, probe: dict[str, Record], models: list[ModelDef]) -> dict[str, RunSettings]:
    """Per model, from its probe's measured seconds per example: enough whole batches for
    --repeat-s seconds per repeat and --warmup-s seconds of warm-up steps."""
    out = {}
    for m in models:
        per_5000 = s_per_5000(probe[m.name])
        if per_5000 is None:
            raise SystemExit(f"the probe run of {m.name} failed: {probe[m.name]['error']}")
        step_s = per_5000 / 5000 * m.batch_size
        out[m.name] = RunSettings(
            examples=max(1, math.ceil(args.repeat_s / step_s)) * m.batch_size,
            repeats=args.repeats,
            warmup_steps=max(3, math.ceil(args.warmup_s / step_s)),
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reruns", type=int, default=5)
    parser.add_argument("--repeat-s", type=float, default=2.5, help="seconds of training per repeat (examples from the probe)")
    parser.add_argument("--warmup-s", type=float, default=0.3, help="seconds of warm-up steps before the timed repeats")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--probe-examples", type=int, default=256, help="examples of the probe run (one repeat)")
    parser.add_argument("--threads", type=int, default=1, help="ExecuTorch pool threads of the device (0: one per core)")
    parser.add_argument("--models", nargs="+", default=["A", "B", "C", "D", "E"])
    args = parser.parse_args()

    t0 = time.perf_counter()
    models = load_models(args.models)
    device = DeviceClass(name="local-cpu", threads=args.threads or None)
    farm_file = FarmFile(kind="local", name="local", settings=LocalSettings(devices=[device]))
    runs: dict[str, list[dict[str, Any]]] = {m.name: [] for m in models}
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        with open_farm(farm_file) as farm:
            probe_settings = RunSettings(examples=args.probe_examples, repeats=1, warmup_steps=3)
            probe = {m.name: run_one(farm, m, probe_settings, Path(tmp) / "probe" / m.name) for m in models}
        settings = plan(args, probe, models)
        print(
            f"probe (not counted) done, load {os.getloadavg()[0]:.2f}: "
            + ", ".join(f"{n} {s.examples} examples x {s.repeats}, {s.warmup_steps} warm-up steps" for n, s in settings.items()),
            flush=True,
        )
        for rerun in range(args.reruns):
            with open_farm(farm_file) as farm:
                for m in models:
                    r = run_one(farm, m, settings[m.name], Path(tmp) / f"r{rerun}" / m.name)
                    runs[m.name].append(
                        {
                            "s_per_5000": s_per_5000(r),
                            "repeats_s_per_5000": r["timing"]["seconds_per_5000"]["values"] if r["status"] == "ok" else None,
                            "step_cv": (r.get("stability") or {}).get("cv"),
                            "score": (r.get("stability") or {}).get("score"),
                            "others_cpu_share": (r.get("machine") or {}).get("others_cpu_share"),
                            "threads": (r.get("runtime") or {}).get("threads"),
                            "cpu_mean_percent": (r.get("cpu") or {}).get("mean_percent"),
                        }
                    )
            print(f"rerun {rerun + 1}/{args.reruns} done, load {os.getloadavg()[0]:.2f}", flush=True)

    figures: dict[str, Any] = {
        "benchmark": "stability",
        "reruns": args.reruns,
        "repeats": args.repeats,
        "repeat_s": args.repeat_s,
        "threads_asked": args.threads or None,
        "models": {},
    }
    print(
        f"{'model':<6}{'examples':>9}{'mean s/5000':>12}{'CV of means':>13}{'step CV':>9}{'score':>7}{'others CPU':>11}  per rerun"
    )
    for m in models:
        rows, s = runs[m.name], settings[m.name]
        means = [row["s_per_5000"] for row in rows if row["s_per_5000"] is not None]
        mean, std = mean_std(means)
        cv = std / mean if mean and std is not None else None
        step_cv = max((row["step_cv"] for row in rows if row["step_cv"] is not None), default=None)
        score = min((row["score"] for row in rows if row["score"] is not None), default=None)
        others = max((row["others_cpu_share"] for row in rows if row["others_cpu_share"] is not None), default=None)
        figures["models"][m.name] = {
            "examples_per_repeat": s.examples,
            "warmup_steps": s.warmup_steps,
            "probe_s_per_5000": s_per_5000(probe[m.name]),
            "s_per_5000": [round(v, 4) for v in means],
            "repeats_s_per_5000": [[round(v, 4) for v in row["repeats_s_per_5000"] or []] for row in rows],
            "failed_reruns": len(rows) - len(means),
            "mean": mean,
            "cv_of_means": cv,
            "max_step_cv": step_cv,
            "min_score": score,
            "max_others_cpu_share": others,
            "runtime_threads": sorted({row["threads"] for row in rows if row["threads"] is not None}),
            "cpu_mean_percent": [round(row["cpu_mean_percent"], 1) for row in rows if row["cpu_mean_percent"] is not None],
            "meets_5pct": cv is not None and cv <= 0.05 and len(means) == args.reruns,
        }
        print(
            f"{m.name:<6}{s.examples:>9}{mean or 0:>12.3f}{(cv or 0) * 100:>12.2f}%{(step_cv or 0) * 100:>8.1f}%{score or 0:>7.2f}"
            f"{(others or 0) * 100:>10.0f}%  {', '.join(f'{v:.3f}' for v in means)}"
        )
    figures["loadavg_start"] = [round(v, 2) for v in load_start]
    figures["loadavg_end"] = [round(v, 2) for v in os.getloadavg()]
    figures["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
