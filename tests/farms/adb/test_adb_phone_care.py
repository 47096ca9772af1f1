"""What the adb farm does to a phone around a benchmark, observed on a test phone that starts asleep
behind a swipe lock: it wakes and unlocks the screen before `am start`, measures the app's energy
from batterystats (reset before the launch), reads the phone's load and CPU frequency, and runs one
benchmark at a time on a phone."""

from __future__ import annotations

import json
import threading
import time

from test_adb_farm import cli, records

from flint_bench.farms.adb.locks import device_lock


def launches(phone) -> list[dict]:
    return json.loads((phone.root / "state/launches.json").read_text())


def test_the_screen_is_woken_and_unlocked_before_the_launch_and_energy_and_load_are_read(phones, farm_file, tmp_path):
    phone = phones[0]
    out_dir = tmp_path / "results"
    code, out = cli(
        "run", "--farm", str(farm_file(serials=[phone.serial])), "--model", "A", "--out", str(out_dir), "--format", "json"
    )
    assert code == 0, out
    record = records(out_dir)[phone.serial]
    assert record["status"] == "ok", record["error"]
    # the phone was asleep and locked; the app ran because the host woke and unlocked it first, each a command of its own
    log = phone.shell_log
    launch = next(i for i, c in enumerate(log) if c.startswith("am start"))
    assert log.index("input keyevent KEYCODE_WAKEUP") < log.index("wm dismiss-keyguard") < log.index("input keyevent 82") < launch
    assert [x["screen"] for x in launches(phone)] == [{"awake": True, "locked": False}]
    assert launches(phone)[0]["extras"]["run_id"] == record["run_id"]  # the run id travels beside the spec
    # energy: batterystats reset (with the USB-powered phone told it is unplugged) before the launch, the
    # app uid's estimate read after the result, and the battery state given back at the end
    reset = log.index("dumpsys battery unplug; dumpsys batterystats --reset")
    assert reset < launch and log[-1] == "dumpsys battery reset"
    energy = record["energy"]
    assert energy["mah"] > 0 and energy["joules"] > 0 and "batterystats" in energy["method"]
    assert abs(energy["joules"] - energy["mah"] * 3.6 * 4.012) < 1e-6 and energy["detail"] == "uid u0a234, 4012 mV"
    # the phone's own load and CPU frequency (the Pixel exposes cpufreq: mean of its 8 cores)
    machine = record["machine"]
    assert machine["load_1min_start"] is not None and machine["load_1min_end"] is not None and machine["cpus"] == 8
    assert machine["cpu_freq_mhz"] == round((4 * 1803000 + 2 * 2348000 + 2 * 2850000) / 8 / 1000, 1)
    assert machine["others_cpu_share"] is None and "loadavg" in machine["method"]


def test_energy_and_frequency_are_null_with_the_reason_where_the_phone_gives_none(phones, farm_file, tmp_path):
    phone = phones[2]  # the Redmi exposes no cpufreq
    out_dir = tmp_path / "results"
    farm = farm_file(serials=[phone.serial], measure_energy=False)
    code, out = cli("run", "--farm", str(farm), "--model", "A", "--out", str(out_dir), "--format", "json")
    assert code == 0, out
    record = records(out_dir)[phone.serial]
    assert record["machine"]["cpu_freq_mhz"] is None and "energy" not in record
    assert not any("batterystats" in c for c in phone.shell_log)


def test_one_benchmark_at_a_time_on_a_phone(phones, farm_file, tmp_path, adb_server):
    phone = phones[1]
    held, release = threading.Event(), threading.Event()

    farm = farm_file(serials=[phone.serial], lock_wait_s=1.5)
    holder = threading.Thread(target=_hold, args=(adb_server, phone.serial, held, release), daemon=True)
    holder.start()
    assert held.wait(10)
    started = time.monotonic()
    code, out = cli("run", "--farm", str(farm), "--model", "A", "--out", str(tmp_path / "busy"), "--format", "json")
    release.set()
    holder.join(10)
    record = records(tmp_path / "busy")[phone.serial]
    assert code == 1 and record["error"]["kind"] == "timeout" and "is busy" in record["error"]["message"], record["error"]
    assert time.monotonic() - started < 60
    assert not any(c.startswith("am start") for c in phone.shell_log)  # the phone was never touched
    # once the other run lets go, the phone is benchmarked as usual
    code, out = cli("run", "--farm", str(farm), "--model", "A", "--out", str(tmp_path / "free"), "--format", "json")
    assert code == 0 and records(tmp_path / "free")[phone.serial]["status"] == "ok", out


def _hold(port: int, serial: str, held: threading.Event, release: threading.Event) -> None:
    with device_lock(f"127.0.0.1:{port}", serial, 5):
        held.set()
        release.wait(30)


def test_a_sustained_run_reports_throughput_over_time_with_the_phones_thermal_status(phones, farm_file, tmp_path):
    phone = phones[1]  # reports thermal status 1 (light)
    out_dir = tmp_path / "results"
    farm = farm_file(serials=[phone.serial], run={"sustained_minutes": 0.05})  # 3 s of training on, ten windows
    code, out = cli("run", "--farm", str(farm), "--model", "A", "--out", str(out_dir), "--format", "json")
    assert code == 0, out
    record = records(out_dir)[phone.serial]
    assert launches(phone)[0]["extras"]["sustained_minutes"] == "0.05"  # asked of the app with the launch
    sustained = record["sustained"]
    windows = sustained["windows"]
    assert sustained["minutes"] == 0.05 and len(windows) >= 5
    assert all(w["examples_per_s"] > 0 for w in windows) and windows == sorted(windows, key=lambda w: w["t_s"])
    assert sustained["first_last_ratio"] == windows[0]["examples_per_s"] / windows[-1]["examples_per_s"]
    # the host sampled `dumpsys thermalservice` while the app trained: every window carries the status
    assert [w["thermal_status"] for w in windows] == [1] * len(windows) and sustained["thermal_max"] == 1
    assert "dumpsys thermalservice sampled by the host" in sustained["method"]
    assert any(c == "dumpsys thermalservice" for c in phone.shell_log)
