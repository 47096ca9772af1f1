"""Wall time of `flint-bench assess` with the shipped config (configs/assess.toml): cold (an empty
output folder and, unless --keep-export-cache, an empty export cache: every model is exported and
benchmarked) and warm (the same command again, nothing changed: every stage is served from its cache).

Prints the two runs; the last line is a JSON object with both wall times and the verdicts.
Run: python benchmarks/assess_wall.py [--config configs/assess.toml] [--keep-export-cache]
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

REPO = Path(__file__).resolve().parents[1]


def assess(config: Path, out: Path, env: dict[str, str]) -> tuple[float, dict]:
    cmd = [sys.executable, "-m", "flint_bench.cli", "assess", "-c", str(config), "--out", str(out), "--format", "json"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"assess failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return seconds, json.loads(proc.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=REPO / "configs" / "assess.toml")
    ap.add_argument("--keep-export-cache", action="store_true", help="reuse the user's export cache (cold assess stages only)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="assess-wall-") as tmp:
        env = dict(os.environ)
        if not args.keep_export_cache:
            env["FLINT_BENCH_CACHE"] = str(Path(tmp) / "cache")
        out = Path(tmp) / "out"
        cold, doc = assess(args.config, out, env)
        stages = {s["stage"]: round(s["seconds"], 1) for s in doc["stages"]}
        print(f"cold: {cold:.1f} s  stages {stages}")
        warm, again = assess(args.config, out, env)
        print(f"warm: {warm:.1f} s  cached {sum(s['cached'] for s in again['stages'])}/{len(again['stages'])} stages")
    result = {
        "config": str(args.config.relative_to(REPO) if args.config.is_relative_to(REPO) else args.config),
        "cold_s": round(cold, 1),
        "warm_s": round(warm, 1),
        "export_cache": "kept" if args.keep_export_cache else "empty",
        "stage_seconds_cold": stages,
        "verdicts": {f"{d['model']}/{d['target']}": d["verdict"] for d in doc["decisions"]},
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
