"""A class's CPU cap slows a CPU-bound loop to the share it implies: by cgroup where this machine
allows one, and by the duty-cycling fallback everywhere."""

import os
import subprocess
import sys

import pytest

from flint_bench.bench.cpucap import CpuCap, find_hierarchy, remove_leftovers

# a CPU-bound loop pinned to CPU 0: prints its CPU time over wall time (1.0 = one core)
LOOP = "import time\nt = time.perf_counter()\nc = time.process_time()\nwhile time.perf_counter() - t < 1.0: pass\nprint((time.process_time() - c) / (time.perf_counter() - t))"


def cpu_share(cap: CpuCap | None) -> float:
    def before_exec():
        os.sched_setaffinity(0, [0])
        if cap is not None:
            cap.join()

    proc = subprocess.Popen([sys.executable, "-c", LOOP], stdout=subprocess.PIPE, text=True, preexec_fn=before_exec)
    try:
        if cap is not None:
            cap.attach(proc.pid)
        out, _ = proc.communicate(timeout=30)
    finally:
        if cap is not None:
            cap.close()
    return float(out)


@pytest.mark.parametrize("way", ["cgroup", "duty-cycle"])
def test_a_cap_slows_the_loop_by_the_share_it_implies(way):
    hierarchy = find_hierarchy() if way == "cgroup" else None
    if way == "cgroup" and hierarchy is None:
        pytest.skip("no writable cgroup with CPU bandwidth control here")
    cap = CpuCap(0.25, usable_cpus=1, hierarchy=hierarchy)
    assert cap.method.startswith("cgroup") == (way == "cgroup") and cap.duty_cycled == (way == "duty-cycle")
    group = cap.group
    free = cpu_share(None)  # what CPU 0 gives the loop now (other processes share it)
    capped = cpu_share(cap)
    # never more than the cap (CFS quota, or the duty cycle's CPU-time budget plus one poll of overrun)
    assert capped <= 0.25 * 1.15, (cap.method, capped)
    # the slowdown the cap implies: from the share the loop gets uncapped down to the quarter core
    expected = free / min(free, 0.25)
    assert free / capped == pytest.approx(expected, rel=0.35), (cap.method, free, capped)
    assert group is None or not group.exists()  # the group is removed once the worker is gone


def test_no_cap_is_needed_when_it_exceeds_the_usable_cpus():
    cap = CpuCap(2.0, usable_cpus=1, hierarchy=None)
    assert not cap.duty_cycled and cap.method.startswith("none needed")
    cap.close()


def test_leftover_groups_of_dead_runs_are_removed():
    hierarchy = find_hierarchy()
    if hierarchy is None:
        pytest.skip("no writable cgroup with CPU bandwidth control here")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout.strip()
    leftover = hierarchy.parent / f"flint-{dead}-0"
    leftover.mkdir()
    remove_leftovers(hierarchy)
    assert not leftover.exists()


def test_a_bad_cap_is_refused():
    with pytest.raises(ValueError):
        CpuCap(0.0, usable_cpus=1)
