"""The verdict's compat reasons: one line per kind of breach with the worst device's figure; a stand-in
device's OS version (its host's) is no reason, the OS is judged per session."""

from flint_bench.assess.decision import _compat_reasons


def row(device, ok, reasons, os_ok=True):
    return {"device_model": device, "device_ok": ok, "os_ok": os_ok, "reasons": reasons}


def test_one_line_per_breach_kind_with_the_worst_figure_and_no_host_os_version():
    rows = [
        row(
            "vm (high-end)",
            False,
            ["storage 10.8 MB >= limit 1 MB", "worst-case task 155 s > limit 30 s", "Android 6.18 < minimum 10"],
            os_ok=False,
        ),
        row(
            "vm (low-end)",
            False,
            ["storage 10.8 MB >= limit 1 MB", "worst-case task 298 s > limit 30 s", "Android 6.18 < minimum 10"],
            os_ok=False,
        ),
    ]
    no_go, needs, ok = _compat_reasons(rows, "third_party")
    assert ok == 0 and needs == []
    assert no_go == [
        "storage 10.8 MB >= limit 1 MB for third_party on 2 of 2 measured devices",
        "worst-case task 298 s > limit 30 s for third_party on 2 of 2 measured devices",
    ]


def test_unknown_figures_need_measurement_and_one_passing_device_is_no_no_go():
    rows = [
        row("a", True, []),
        row("b", False, ["peak memory unknown (not measured, or not a finite number): cannot judge against limit 16 MB"]),
    ]
    no_go, needs, ok = _compat_reasons(rows, "t")
    assert ok == 1 and no_go == []
    assert needs == [
        "peak memory unknown (not measured, or not a finite number): cannot judge against limit 16 MB for t on 1 of 2 measured devices"
    ]
