"""Were base and head timed under conditions that can be compared? On a shared runner one side may
have run while another process held a core: the same code then measures several times slower
(bimodal: ~190% CPU with both cores free, ~100% with one taken) and any statistic on the samples
reports the machine, not the change. Judged from the records' `machine` sections; a record without
one (older records, phones) says nothing about its machine and is judged as before.

Every other process counts, even beside a 1-thread worker that leaves a CPU free: measured with
`benchmarks/gate_accuracy.py --real-trials` on this 2-vCPU machine, a busy loop pinned to the
other vCPU still made identical single-threaded code read x1.23 slower (significant) in 1 of 8
trials (vCPUs may share a physical core, and the scheduler does not keep the worker off the busy
one), so such a side is inconclusive, not judged. Pure."""

from __future__ import annotations

from ..core.records import Record
from ..core.stats import finite
from .regression import GateSettings


def _others(record: Record) -> float | None:
    machine = record.get("machine")
    return finite(machine.get("others_cpu_share")) if isinstance(machine, dict) else None


def _worker_cpu(record: Record) -> float | None:
    mean = finite(record["cpu"]["mean_percent"])
    return mean if mean is not None and mean > 0 else None


def incomparable(head: Record, base: Record, settings: GateSettings) -> str | None:
    """Why the timings of `head` and `base` cannot be compared, or None when they can."""
    s = settings
    others = {"head": _others(head), "base": _others(base)}
    busy = [
        f"the {side} ran on a busy machine (other processes took {share:.0%} of its CPU, over {s.busy_share:.0%})"
        for side, share in others.items()
        if share is not None and share > s.busy_share
    ]
    if busy:
        return "; ".join(busy)
    if "machine" not in head or "machine" not in base:
        return None  # one side cannot say what its machine did: judged as before
    h, b = others["head"], others["base"]
    if h is not None and b is not None and abs(h - b) > s.others_margin:
        return f"other processes took {h:.0%} of the machine during the head, {b:.0%} during the base (more than {s.others_margin:.0%} apart)"
    hc, bc = _worker_cpu(head), _worker_cpu(base)
    if hc is not None and bc is not None and max(hc, bc) / min(hc, bc) > s.cpu_factor:
        return (
            f"the worker ran at {hc:.0f}% CPU in the head, {bc:.0f}% in the base (x{max(hc, bc) / min(hc, bc):.2f} > "
            f"x{s.cpu_factor:g}): the two sides did not get the same cores"
        )
    return None
