"""Harness overhead of `flint-bench run` on the local farm.

Runs the full five-model local benchmark twice in this process: the first run on an empty
artifact cache (exports everything), the second on the warm cache. Prints per-run figures and,
as the last line, a JSON object: wall time of each run, summed measured training time (the
timed steps), their ratio (target <= 1.25 on the second run) and the second run's total export
time (target <= 2 s: nothing re-exported).

    python benchmarks/harness_overhead.py [--examples 5000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from flint_bench.farms import FarmFile, open_farm
from flint_bench.farms.base import RunSettings
from flint_bench.farms.local import LocalSettings
from flint_bench.runner import run_benchmarks
from flint_bench.zoo import load_models


def measured_training_seconds(records: list[dict]) -> float:
    return sum(sum(rep) for r in records for rep in r["timing"]["step_seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    settings = RunSettings(examples=args.examples, repeats=args.repeats)
    figures = {"examples": args.examples, "repeats": args.repeats}
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        for run in (1, 2):
            with open_farm(FarmFile(kind="local", name="local", settings=LocalSettings())) as farm:
                start = time.perf_counter()
                outcome = run_benchmarks(farm, load_models(None), settings, Path(tmp) / f"results{run}", cache_dir=cache)
                wall = time.perf_counter() - start
            training = measured_training_seconds(outcome.records)
            failed = [r["model"]["name"] for r in outcome.failed]
            print(
                f"run {run}: wall {wall:.1f} s, measured training {training:.1f} s, ratio {wall / training:.3f}, "
                f"export {outcome.export_seconds:.2f} s, failed {failed or 'none'}",
                flush=True,
            )
            figures |= {
                f"run{run}_wall_s": round(wall, 2),
                f"run{run}_training_s": round(training, 2),
                f"run{run}_overhead_ratio": round(wall / training, 3),
                f"run{run}_export_s": round(outcome.export_seconds, 2),
            }
    figures["targets_met"] = figures["run2_overhead_ratio"] <= 1.25 and figures["run2_export_s"] <= 2.0
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
