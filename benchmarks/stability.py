"""Run-to-run stability of the local farm: the same benchmark of models A-E rerun several times.

Each rerun is a full `run_benchmarks` on the local farm (the whole machine as one device, a fresh
worker per model). Per model it reports the mean seconds per 5,000 examples of every rerun, the CV
of those means (target <= 5 % on a quiet machine), and the records' own stability blocks (per-step
CV and the 0-1 score). The machine's load and the other processes' CPU share (record.machine) are
printed beside the figures: a busy machine makes the CV a figure about the machine, not the model.
The last line is one JSON object.

    python benchmarks/stability.py [--reruns 5] [--examples 512] [--repeats 2] [--models A B C D E]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from flint_bench.core.stats import mean_std
from flint_bench.farms import FarmFile, open_farm
from flint_bench.farms.base import RunSettings
from flint_bench.farms.local import LocalSettings
from flint_bench.runner import run_benchmarks
from flint_bench.zoo import load_models


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reruns", type=int, default=5)
    parser.add_argument("--examples", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--models", nargs="+", default=["A", "B", "C", "D", "E"])
    args = parser.parse_args()

    settings = RunSettings(examples=args.examples, repeats=args.repeats, warmup_steps=3)
    models = load_models(args.models)
    runs: dict[str, list[dict[str, Any]]] = {m.name: [] for m in models}
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        for rerun in range(args.reruns):
            with open_farm(FarmFile(kind="local", name="local", settings=LocalSettings())) as farm:
                outcome = run_benchmarks(farm, models, settings, Path(tmp) / f"r{rerun}")  # the usual (warm) export cache
            for r in outcome.records:
                runs[r["model"]["name"]].append(
                    {
                        "s_per_5000": r["timing"]["seconds_per_5000"]["mean"] if r["status"] == "ok" else None,
                        "step_cv": (r.get("stability") or {}).get("cv"),
                        "score": (r.get("stability") or {}).get("score"),
                        "others_cpu_share": (r.get("machine") or {}).get("others_cpu_share"),
                    }
                )
            print(f"rerun {rerun + 1}/{args.reruns} done, load {os.getloadavg()[0]:.2f}", flush=True)

    figures: dict[str, Any] = {"reruns": args.reruns, "examples": args.examples, "repeats": args.repeats, "models": {}}
    print(f"{'model':<6}{'mean s/5000':>12}{'CV of means':>13}{'step CV':>9}{'score':>7}{'others CPU':>11}  per rerun")
    for name, rows in runs.items():
        means = [row["s_per_5000"] for row in rows if row["s_per_5000"] is not None]
        mean, std = mean_std(means)
        cv = std / mean if mean and std is not None else None
        step_cv = max((row["step_cv"] for row in rows if row["step_cv"] is not None), default=None)
        score = min((row["score"] for row in rows if row["score"] is not None), default=None)
        others = max((row["others_cpu_share"] for row in rows if row["others_cpu_share"] is not None), default=None)
        figures["models"][name] = {
            "s_per_5000": [round(m, 4) for m in means],
            "mean": mean,
            "cv_of_means": cv,
            "max_step_cv": step_cv,
            "min_score": score,
            "max_others_cpu_share": others,
            "meets_5pct": cv is not None and cv <= 0.05,
        }
        print(
            f"{name:<6}{mean or 0:>12.3f}{(cv or 0) * 100:>12.2f}%{(step_cv or 0) * 100:>8.1f}%{score or 0:>7.2f}"
            f"{(others or 0) * 100:>10.0f}%  {', '.join(f'{m:.3f}' for m in means)}"
        )
    figures["load_1min"] = [round(load_start, 2), round(os.getloadavg()[0], 2)]
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
