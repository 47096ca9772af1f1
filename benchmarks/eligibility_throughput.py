"""Eligibility throughput: a five-criterion rule set (Table 1's three plus two user attributes) with
fairness sub-populations over N session rows of a synthetic log (default 10M rows).

Prints the figures; the last line is a JSON object: rows/s of `evaluate` (best of --repeats),
load time, and peak memory (process RSS, and the Python/numpy allocations of one evaluate).
Run: python benchmarks/eligibility_throughput.py [--rows 10000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

from flint_bench.eligibility import SessionTable, evaluate, read_sessions, rules_from_dict
from flint_bench.eligibility.synth import SynthSettings, write_synthetic_log

RULES = {
    "criteria": [
        {"name": "A: connected to WiFi", "field": "wifi", "op": "==", "value": True},
        {"name": "B: battery >= 80%", "field": "battery", "op": ">=", "value": 80},
        {"name": "C: OS released >= Sept. 2019", "field": "os_release_date", "op": ">=", "value": "2019-09-01"},
        {"name": "account older than 30 days", "field": "account_age_days", "op": ">=", "value": 30},
        {"name": "no FL task in the last 7 days", "field": "days_since_last_participation", "op": ">=", "value": 7},
    ],
    "fairness": {"dimensions": ["platform", "device_tier", "os_band"]},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--days", type=int, default=7)
    args = ap.parse_args()
    rules = rules_from_dict(RULES, "benchmark rules")
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "sessions.parquet"
        # ~14 sessions per device-week on average: ask for enough devices to pass --rows, then cut.
        devices = int(args.rows / (2.0 * args.days) * 1.08) + 1000
        t0 = time.perf_counter()
        summary = write_synthetic_log(SynthSettings(devices=devices, days=args.days, seed=42), log)
        synth_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        frame = read_sessions(log, rules.fields(), rules.optional_fields())
        load_s = time.perf_counter() - t0
    if len(frame) < args.rows:
        raise SystemExit(f"synthetic log has {len(frame)} rows < {args.rows}")
    frame = frame.iloc[: args.rows].copy()
    rows = len(frame)
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        funnel = evaluate(frame, rules)  # includes indexing the devices, every mask, sub-populations
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    evaluate(frame, rules, table=SessionTable.from_frame(frame))
    _, eval_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    best = min(times)
    print(
        f"log: {summary['sessions']:,} sessions of {devices:,} devices x {args.days} days synthesized in {synth_s:.1f} s; "
        f"loaded {len(frame):,} rows in {load_s:.2f} s"
    )
    for c in funnel.criteria:
        print(f"  {c['name']:<32} {c['share_alone']:6.1%} of devices alone")
    print(f"  {'all criteria':<32} {funnel.all_criteria_share:6.1%}   ({len(funnel.fairness_warnings)} fairness warnings)")
    print(
        f"evaluate over {rows:,} rows, {funnel.devices:,} devices: best {best:.3f} s, median {statistics.median(times):.3f} s "
        f"-> {rows / best / 1e6:.1f} M rows/s"
    )
    print(
        json.dumps(
            {
                "benchmark": "eligibility_throughput",
                "rows": rows,
                "devices": funnel.devices,
                "criteria": len(rules.criteria),
                "dimensions": rules.fairness.dimensions,
                "evaluate_seconds_best": round(best, 4),
                "evaluate_seconds_median": round(statistics.median(times), 4),
                "rows_per_second": round(rows / best),
                "target_rows_per_second": 5_000_000,
                "meets_target": rows / best >= 5_000_000,
                "load_seconds": round(load_s, 3),
                "synth_seconds": round(synth_s, 2),
                "evaluate_peak_alloc_mb": round(eval_peak / 2**20, 1),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "cpus": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()
