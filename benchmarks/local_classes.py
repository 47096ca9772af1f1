"""Do the emulated device classes differ for real? Low-end vs high-end of farm_configs/local-classes.toml.

Runs models C and D (by default) on the two classes and compares seconds per 5,000 examples. The
ratio the caps imply: a class's compute is min(cpu_max, usable CPUs) cores (DeviceClass.cores),
and the work can use at most as many cores as it keeps busy uncapped: p = the high-end's measured
CPU time / wall time (ExecuTorch's portable training kernels run on one thread, so p is about 1).
So implied = min(high.cores, p) / min(low.cores, p). Targets: measured ratio >= 2 and within
+-20 % of the implied ratio. The last line is one JSON object.

    python benchmarks/local_classes.py [--examples 512] [--repeats 2] [--models C D] [--classes high-end low-end]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from flint_bench.farms import load_farm_file, open_farm
from flint_bench.farms.local import DeviceClass, LocalSettings
from flint_bench.runner import run_benchmarks
from flint_bench.zoo import load_models

CONFIG = Path(__file__).resolve().parents[1] / "farm_configs" / "local-classes.toml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--models", nargs="+", default=["C", "D"])
    parser.add_argument("--classes", nargs=2, default=["high-end", "low-end"], metavar=("FAST", "SLOW"))
    args = parser.parse_args()

    farm_file = load_farm_file(CONFIG)
    local: LocalSettings = farm_file.settings
    classes: dict[str, DeviceClass] = {c.name: c for c in local.devices if c.name in args.classes}
    fast, slow = (classes[n] for n in args.classes)
    farm_file = replace(farm_file, settings=replace(local, devices=[fast, slow]))
    settings = replace(farm_file.run, examples=args.examples, repeats=args.repeats)
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp, open_farm(farm_file) as farm:
        records = run_benchmarks(farm, load_models(args.models), settings, Path(tmp)).records

    by = {(r["model"]["name"], r["device"]["id"]): r for r in records}
    figures: dict[str, Any] = {"examples": args.examples, "repeats": args.repeats, "classes": {}, "models": {}}
    for c in (fast, slow):
        rec = by[(args.models[0], c.name)]
        figures["classes"][c.name] = {
            "tier": c.tier,
            "threads": rec["runtime"]["threads"],
            "cpu_affinity": c.cpu_affinity,
            "cpu_max": c.cpu_max,
            "cores": c.cores,
            "cpu_cap": rec["conditions"].get("cpu_cap"),
        }
    print(f"{'model':<6}{args.classes[0]:>12}{args.classes[1]:>12}{'ratio':>8}{'implied':>9}{'p':>6}  target")
    for name in args.models:
        f, s = by[(name, fast.name)], by[(name, slow.name)]
        if f["status"] != "ok" or s["status"] != "ok":
            figures["models"][name] = {"error": [f.get("error"), s.get("error")]}
            print(f"{name:<6} failed: {f.get('error')} {s.get('error')}")
            continue
        t_fast, t_slow = f["timing"]["seconds_per_5000"]["mean"], s["timing"]["seconds_per_5000"]["mean"]
        p = max(1e-9, (f["cpu"]["mean_percent"] or 100.0) / 100)
        implied = min(fast.cores, p) / min(slow.cores, p)
        ratio = t_slow / t_fast
        ok = ratio >= 2 and abs(ratio / implied - 1) <= 0.2
        figures["models"][name] = {
            "s_per_5000": {fast.name: t_fast, slow.name: t_slow},
            "cpu_mean_percent": {fast.name: f["cpu"]["mean_percent"], slow.name: s["cpu"]["mean_percent"]},
            "others_cpu_share": {fast.name: f["machine"]["others_cpu_share"], slow.name: s["machine"]["others_cpu_share"]},
            "ratio": ratio,
            "parallelism_p": p,
            "implied_ratio": implied,
            "target_met": ok,
        }
        print(f"{name:<6}{t_fast:>12.3f}{t_slow:>12.3f}{ratio:>8.2f}{implied:>9.2f}{p:>6.2f}  {'met' if ok else 'NOT met'}")
    figures["load_1min"] = [round(load_start, 2), round(os.getloadavg()[0], 2)]
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
