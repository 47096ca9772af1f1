"""Task C at the paper's scale with real training (Table 2 dataset C, Table 3 Task C, FedBuff).

16,422,290 clients (mean 1.53, std 1.47, max 406 records: about 25M records, 17 GB of model C features if
built at once) on a lazy proxy: each executor generates a client's records from (seed, client id) when
it trains. Client arrival is uniform (the paper's Task C forecast) at 3.53 check-ins a second, the rate
that gives its 610k client tasks in 48 hours; model C trains every aggregated client for real.

Prints virtual time, tasks and device-hours, the wall time and the peak resident memory of the leader
and its executor processes together (sampled every 0.2 s). Targets: wall <= 10 min, peak RSS <= 6 GB.

Usage: python benchmarks/sim_scale.py [--clients N] [--hours H] [--executors E]. The last line is a JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import threading
import time

import psutil

from flint_bench.simulator.experiment import simulate

CLIENTS, HOURS, TASKS_PAPER = 16_422_290, 48.0, 610_000


class PeakRss:
    """The largest summed RSS of this process and its children, sampled in a thread."""

    def __init__(self, interval_s: float = 0.2):
        self.interval_s, self.peak, self._stop = interval_s, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for p in [me, *me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += p.memory_info().rss
            self.peak = max(self.peak, total)
            self._stop.wait(self.interval_s)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def config(clients: int, hours: float, executors: int) -> dict:
    arrivals_per_s = TASKS_PAPER / (HOURS * 3600)  # 3.53/s, the paper's Task C rate
    return {
        "sim": {
            "model": "C",
            "mode": "fedbuff",
            "seed": 0,
            "time_budget_hours": hours,
            "max_aggregations": 10**8,
            "eval_every": 500,
            "centralized_epochs": 0,
            "executors": executors,
        },
        "fedbuff": {"concurrency": 1000, "buffer": 100, "max_staleness": 20},
        "proxy": {"clients": clients, "mean_records": 1.53, "std_records": 1.47, "max_records": 406, "storage": "lazy"},
        # Table 5, model C: 3.26 s / 5000 examples = 0.65 ms per example; spread assumed lognormal sigma 0.6
        "population": {
            "classes": [{"name": "phones", "per_example_s": {"median": 0.00055, "sigma": 0.6}}],
            "availability": {
                "checkins_per_device_per_day": arrivals_per_s * 86_400 / clients,
                "mean_session_minutes": 30,
                "trough_fraction": 1.0,  # uniform arrival, no daily trough
            },
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=CLIENTS)
    ap.add_argument("--hours", type=float, default=HOURS)
    ap.add_argument("--executors", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    load = os.getloadavg()
    t = time.perf_counter()
    with PeakRss() as rss:
        summary = simulate(config(args.clients, args.hours, args.executors), "benchmarks/sim_scale.py").summary
    wall = time.perf_counter() - t
    m = {k: v["median"] for k, v in summary["metrics"].items()}
    print(
        f"Task C at scale: {args.clients:,} clients (lazy proxy, {args.executors} executors), FedBuff buffer 100, "
        f"uniform arrival 3.53/s",
        flush=True,
    )
    print(
        f"virtual time {m['virtual_hours']:.2f} h; tasks started {m['tasks_started']:,.0f}, aggregated "
        f"{m['tasks_succeeded']:,.0f} in {m['aggregations']:,.0f} aggregations; device compute "
        f"{m['client_compute_hours']:,.1f} device-hours; final NDCG {m['final_metric']:.4f}",
        flush=True,
    )
    print(f"wall {wall:.1f} s, peak RSS (leader + executors) {rss.peak / 2**30:.2f} GB; load before {load}", flush=True)
    print(
        json.dumps(
            {
                "clients": args.clients,
                "tasks": m["tasks_started"],
                "tasks_aggregated": m["tasks_succeeded"],
                "aggregations": m["aggregations"],
                "virtual_hours": m["virtual_hours"],
                "device_hours": m["client_compute_hours"],
                "final_ndcg": m["final_metric"],
                "executors": args.executors,
                "wall_s": wall,
                "peak_rss_gb": rss.peak / 2**30,
                "targets": {"wall_le_600_s": wall <= 600, "peak_rss_le_6_gb": rss.peak <= 6 * 2**30},
                "load_average_before": load,
                "load_average_after": os.getloadavg(),
            }
        )
    )


if __name__ == "__main__":
    main()
