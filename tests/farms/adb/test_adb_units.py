"""Parsing of Android command output, device selection and the emulator driver's errors (no adb needed)."""

from __future__ import annotations

import pytest

from flint_bench.core.errors import UserError
from flint_bench.core.versions import version_tuple
from flint_bench.farms.adb import AdbSettings
from flint_bench.farms.adb.emulators import Sdk
from flint_bench.farms.adb.parsers import (
    parse_battery,
    parse_cpu_range,
    parse_getprop,
    parse_proc_stat_ticks,
    parse_pss_kb,
    parse_thermal_status,
    parse_version_name,
)
from flint_bench.farms.adb.selection import device_from_props, select


def test_parsers_on_real_android_output():
    assert parse_getprop("[ro.product.model]: [Pixel 7]\n[ro.build.version.sdk]: [34]\n[empty]: []\n") == {
        "ro.product.model": "Pixel 7",
        "ro.build.version.sdk": "34",
        "empty": "",
    }
    b = parse_battery(
        "Current Battery Service state:\n  AC powered: false\n  USB powered: true\n  level: 57\n  scale: 100\n  temperature: 287\n"
    )
    assert b == {"percent": 57.0, "charging": True, "temperature_c": 28.7}
    assert parse_thermal_status("IsStatusOverride: false\nThermal Status: 3\n") == 3 and parse_thermal_status("") is None
    assert (
        parse_version_name("  Package [org.flint.bench] (ab):\n    versionCode=3 minSdk=26\n    versionName=1.2.0\n") == "1.2.0"
    )
    assert parse_pss_kb("           TOTAL PSS:    81234            TOTAL RSS:   120000") == 81234
    assert parse_pss_kb("  Native Heap   1000\n        TOTAL    45678    3000    200\n") == 45678  # Android <= 9 layout
    assert parse_proc_stat_ticks("4242 (org.flint (x) y) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0") == 300
    assert parse_cpu_range("0-3,6\n") == 5 and parse_cpu_range("0\n") == 1 and parse_cpu_range("garbage") is None
    assert version_tuple("8.1.0") == (8, 1, 0) and version_tuple("UpsideDownCake") == ()


def _dev(serial, **props):
    base = {
        "ro.product.manufacturer": "Google",
        "ro.product.model": "Pixel",
        "ro.build.version.release": "14",
        "ro.build.version.sdk": "34",
        "ro.product.cpu.abi": "arm64-v8a",
    }
    return device_from_props(serial, "f", base | props, 4000.0, 8)


def test_selection_filters_and_emulator_detection():
    devices = [
        _dev("a"),
        _dev("emulator-5554", **{"ro.kernel.qemu": "1", "ro.product.cpu.abi": "x86_64"}),
        _dev("c", **{"ro.build.version.release": "8.1.0", "ro.build.version.sdk": "27", "ro.product.manufacturer": "Nokia"}),
    ]
    assert devices[1].emulator and not devices[0].emulator
    ids = lambda **kw: [d.id for d in select(devices, AdbSettings(**kw))]  # noqa: E731
    assert ids() == ["a", "emulator-5554", "c"]
    assert ids(emulator=False) == ["a", "c"] and ids(emulator=True) == ["emulator-5554"]
    assert ids(max_os_version="9") == ["c"] and ids(min_os_version="8.1") == ["a", "emulator-5554", "c"]
    assert ids(min_sdk=28, abis=["arm64-v8a"]) == ["a"] and ids(manufacturers=["nokia"]) == ["c"]
    assert ids(serials=["c", "a"]) == ["c", "a"] and ids(max_devices=1) == ["a"]


def test_emulator_sdk_missing_names_android_home(tmp_path):
    with pytest.raises(UserError, match="ANDROID_HOME"):
        Sdk.find({"PATH": str(tmp_path)})
    with pytest.raises(UserError, match="has no emulator/emulator"):
        Sdk.find({"ANDROID_HOME": str(tmp_path), "PATH": ""})


def test_emulator_list_and_command_from_the_sdk_layout(tmp_path):
    tool = tmp_path / "emulator" / "emulator"
    tool.parent.mkdir()
    # the SDK's emulator prints AVD names (and, in new versions, INFO lines) for -list-avds
    tool.write_text(
        "#!/bin/sh\n[ \"$1\" = -list-avds ] && printf 'INFO    | Storing crashdata in: /tmp\\nPixel_7_API_34\\nsmall_30\\n'\n"
    )
    tool.chmod(0o755)
    sdk = Sdk.find({"ANDROID_HOME": str(tmp_path)})
    assert sdk.list_avds() == ["Pixel_7_API_34", "small_30"]
    cmd = sdk.command("small_30", 5556, AdbSettings())
    assert cmd[:5] == [str(tool), "-avd", "small_30", "-port", "5556"] and "-no-window" in cmd
    with pytest.raises(UserError, match=r"do not exist.*avdmanager create avd -n nope"):
        sdk.start(["nope"], AdbSettings())


def test_the_test_phone_speaks_adb_to_the_real_server(phones, adb_server):
    """The test device itself, through the adb CLI (shell v2, exec, push/pull) and adbutils (shell v1, sync LIST)."""
    import adbutils
    from fake_device import adb

    phone = phones[0]
    assert adb("-s", phone.serial, "shell", "getprop ro.product.model; exit 3").strip() == "Pixel 7"
    assert adb("-s", phone.serial, "exec-out", "cat /proc/meminfo").startswith("MemTotal:       7833000 kB")
    src = phone.root.parent / "blob.bin"
    src.write_bytes(bytes(range(256)) * 1024)  # 256 KiB: several WRTE packets each way
    assert "1 file pushed" in adb("-s", phone.serial, "push", str(src), "/sdcard/a b/blob.bin")
    assert (phone.root / "sdcard/a b/blob.bin").read_bytes() == src.read_bytes()
    assert "1 file pulled" in adb("-s", phone.serial, "pull", "/sdcard/a b/blob.bin", str(src) + ".back")
    assert (phone.root.parent / "blob.bin.back").read_bytes() == src.read_bytes()
    device = adbutils.AdbClient("127.0.0.1", adb_server).device(phone.serial)
    assert device.shell("echo v1; echo err >&2") == "v1\nerr"
    assert device.shell2("exit 7", v2=True).returncode == 7
    assert [f.path for f in device.sync.list("/sdcard/a b")] == ["blob.bin"]
    assert not device.sync.exists("/sdcard/nothing")


def test_emulator_that_dies_while_booting_is_reported_with_its_log(tmp_path, adb_server):
    from flint_bench.farms.adb import EmulatorSettings
    from flint_bench.farms.adb.emulators import stop

    tool = tmp_path / "emulator" / "emulator"
    tool.parent.mkdir()
    tool.write_text(
        '#!/bin/sh\nif [ "$1" = -list-avds ]; then echo small_30; exit 0; fi\n'
        "echo \"args: $*\"; echo 'PANIC: Missing emulator engine program for x86 CPU.'; exit 1\n"
    )
    tool.chmod(0o755)
    settings = AdbSettings(emulators=EmulatorSettings(boot_timeout_s=30))
    with pytest.raises(UserError, match=r"(?s)exited with code 1 before booting.*-avd small_30 -port 5554 -no-window.*PANIC"):
        Sdk.find({"ANDROID_HOME": str(tmp_path)}).start(["small_30"], settings)
    assert stop(settings) == []  # no emulator is running on this private adb server
    with pytest.raises(UserError, match="not emulators"):
        stop(settings, ["R58M12ABCDE"])


def test_create_avd_answers_avdmanager_and_reports_failures(tmp_path):
    (tmp_path / "emulator").mkdir()
    (tmp_path / "emulator" / "emulator").write_text("#!/bin/sh\n")
    (tmp_path / "emulator" / "emulator").chmod(0o755)
    with pytest.raises(UserError, match="avdmanager was not found"):
        Sdk.find({"ANDROID_HOME": str(tmp_path)}).create_avd("x", "system-images;android-34;google_apis;x86_64")
    tool = tmp_path / "cmdline-tools" / "latest" / "bin" / "avdmanager"
    tool.parent.mkdir(parents=True)
    # like avdmanager: fails for an image that is not installed, reads the custom-profile answer from stdin
    tool.write_text(
        "#!/bin/sh\ncase \"$*\" in *android-99*) echo 'Error: Package path is not valid.' >&2; exit 1;; esac\n"
        'read answer; echo "args: $* answer: $answer"\n'
    )
    tool.chmod(0o755)
    sdk = Sdk.find({"ANDROID_HOME": str(tmp_path)})
    assert (
        sdk.create_avd("p34", "system-images;android-34;google_apis;x86_64", "pixel_7")
        == "args: create avd -n p34 -k system-images;android-34;google_apis;x86_64 -d pixel_7 answer: no"
    )
    with pytest.raises(UserError, match=r"Package path is not valid.*sdkmanager"):
        sdk.create_avd("p99", "system-images;android-99;google_apis;x86_64")


# `dumpsys batterystats` estimate blocks written in the two line layouts of AOSP's dump ("Uid" before Android 12,
# "UID" since); the figures are made up for the test
BATTERYSTATS_11 = """  Estimated power use (mAh):
    Capacity: 3000, Computed drain: 95.3, actual drain: 90.0-120
    Screen: 40.1 Excluded from smearing
    Uid 0: 10.5 ( cpu=9.80 wake=0.700 ) Excluded from smearing
    Uid u0a234: 3.21 ( cpu=3.10 wifi=0.110 ) Including smearing: 4.05 ( screen=0.840 )
    Uid u0a2345: 9.99 ( cpu=9.99 )
"""
BATTERYSTATS_14 = """  Estimated power use (mAh):
    Capacity: 4355, Computed drain: 12.4, actual drain: 0-43.6
    Global
      screen: 5.10 apps: 1.02 duration: 10m 3s 200ms
    UID u0a234: 1.02 ( cpu=0.981 (1m 2s 120ms) wifi=0.0412 ) Including smearing: 1.31 ( screen=0.290 )
"""


def test_batterystats_uid_estimates_in_both_layouts_and_the_app_uid():
    from flint_bench.farms.adb.parsers import (
        parse_app_uid,
        parse_cpu_freq_mhz,
        parse_loadavg_1min,
        parse_uid_power_mah,
        parse_voltage_mv,
    )

    assert parse_app_uid("Packages:\n  Package [org.flint.bench] (4f2a1b):\n    userId=10234\n") == "u0a234"
    assert parse_app_uid("    userId=1000\n") == "1000" and parse_app_uid("no such package") is None
    assert parse_uid_power_mah(BATTERYSTATS_11, "u0a234") == 3.21  # not u0a2345's line
    assert parse_uid_power_mah(BATTERYSTATS_14, "u0a234") == 1.02
    assert parse_uid_power_mah(BATTERYSTATS_14, "u0a99") is None
    assert parse_uid_power_mah("UID u0a234: 5.0\n", "u0a234") is None  # only inside the estimate block
    assert parse_voltage_mv("  voltage: 4012\n  temperature: 312") == 4012 and parse_voltage_mv("  voltage: 0\n") is None
    assert parse_loadavg_1min("3.08 2.91 2.70 4/1832 31337\n") == 3.08 and parse_loadavg_1min("") is None
    assert parse_cpu_freq_mhz("1803000\n2850000\n") == 2326.5 and parse_cpu_freq_mhz("cat: no such file\n") is None
