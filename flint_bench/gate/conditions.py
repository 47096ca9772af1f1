"""Were base and head timed under conditions that can be compared? On a shared runner one side may
have run while another process held a core: the same code then measures several times slower
(bimodal: ~190% CPU with both cores free, ~100% with one taken) and any statistic on the samples
reports the machine, not the change. Judged from the records' `machine` sections; a record without
one (older records, phones) says nothing about its machine and is judged as before.

What counts is contention: the others' share beyond the cores the worker left free. A worker with
fewer threads than the machine has CPUs (`flint-bench gate bench` runs one thread by default) does
not compete with a process on a core it does not use, so on 2 CPUs a 1-thread worker tolerates
another process taking one whole core (50% of the machine). Pure."""

from __future__ import annotations

from ..core.records import Record
from ..core.stats import finite
from .regression import GateSettings


def _others(record: Record) -> float | None:
    """Other processes' CPU as a share of the machine, beyond the share of the CPUs the worker's
    threads left free (what competed with the worker)."""
    machine = record.get("machine")
    if not isinstance(machine, dict) or (others := finite(machine.get("others_cpu_share"))) is None:
        return None
    cpus, threads = machine.get("cpus"), record["runtime"]["threads"]
    free = (cpus - threads) / cpus if cpus and threads and 0 < threads < cpus else 0.0
    return max(0.0, others - free)


def _free_note(record: Record) -> str:
    machine, threads = record.get("machine"), record["runtime"]["threads"]
    cpus = machine["cpus"] if machine else None
    return (
        f" beyond the {cpus - threads} CPU(s) its {threads}-thread worker left free"
        if cpus and threads and threads < cpus
        else ""
    )


def _worker_cpu(record: Record) -> float | None:
    mean = finite(record["cpu"]["mean_percent"])
    return mean if mean is not None and mean > 0 else None


def incomparable(head: Record, base: Record, settings: GateSettings) -> str | None:
    """Why the timings of `head` and `base` cannot be compared, or None when they can."""
    s = settings
    others = {"head": _others(head), "base": _others(base)}
    busy = [
        f"the {side} ran on a busy machine (other processes took {share:.0%} of its CPU"
        f"{_free_note(head if side == 'head' else base)}, over {s.busy_share:.0%})"
        for side, share in others.items()
        if share is not None and share > s.busy_share
    ]
    if busy:
        return "; ".join(busy)
    if "machine" not in head or "machine" not in base:
        return None  # one side cannot say what its machine did: judged as before
    h, b = others["head"], others["base"]
    if h is not None and b is not None and abs(h - b) > s.others_margin:
        return f"other processes competed for {h:.0%} of the machine during the head, {b:.0%} during the base (more than {s.others_margin:.0%} apart)"
    hc, bc = _worker_cpu(head), _worker_cpu(base)
    if hc is not None and bc is not None and max(hc, bc) / min(hc, bc) > s.cpu_factor:
        return (
            f"the worker ran at {hc:.0f}% CPU in the head, {bc:.0f}% in the base (x{max(hc, bc) / min(hc, bc):.2f} > "
            f"x{s.cpu_factor:g}): the two sides did not get the same cores"
        )
    return None
