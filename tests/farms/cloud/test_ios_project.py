"""The iOS app's build description (device_apps/ios/project.yml, read by XcodeGen) and sources, checked
where no Mac is: the header paths and libraries ExecuTorch's CMake install needs, the Info.plist keys
declared where `xcodegen generate` keeps them, a valid Swift language mode, the launch and clock."""

from __future__ import annotations

import plistlib
from pathlib import Path

import yaml

IOS = Path(__file__).resolve().parents[3] / "device_apps/ios"
PROJECT = yaml.safe_load((IOS / "project.yml").read_text())
TARGET = PROJECT["targets"]["FlintBench"]
SETTINGS = TARGET["settings"]["base"]
# what XcodeGen writes into every iOS application's Info.plist by itself
XCODEGEN_DEFAULTS = {
    "CFBundleDevelopmentRegion",
    "CFBundleExecutable",
    "CFBundleIdentifier",
    "CFBundleInfoDictionaryVersion",
    "CFBundleName",
    "CFBundlePackageType",
    "LSRequiresIPhoneOS",
}


def test_info_plist_keys_are_declared_where_xcodegen_keeps_them():
    properties = TARGET["info"]["properties"]
    assert TARGET["info"]["path"] == "FlintBench/Info.plist"
    # Appium reaches Documents on a real device only with file sharing on; the farm compares versions
    assert properties["UIFileSharingEnabled"] is True and properties["LSSupportsOpeningDocumentsInPlace"] is True
    assert properties["CFBundleShortVersionString"] == "$(MARKETING_VERSION)" and PROJECT["settings"]["base"]["MARKETING_VERSION"]
    assert properties["CFBundleVersion"] == "$(CURRENT_PROJECT_VERSION)"
    assert properties["FLTExecuTorchVersion"] == "$(EXECUTORCH_VERSION)"
    # the committed plist holds nothing that a regeneration would drop
    committed = plistlib.loads((IOS / "FlintBench/Info.plist").read_bytes())
    assert set(committed) - XCODEGEN_DEFAULTS <= set(properties), set(committed) - XCODEGEN_DEFAULTS - set(properties)
    assert all(committed[k] == v for k, v in properties.items())


def test_swift_version_is_a_language_mode_xcode_accepts():
    assert SETTINGS["SWIFT_VERSION"] in {"4.0", "4.2", "5.0", "6.0"}


def test_header_paths_and_libraries_match_executorchs_install():
    headers = SETTINGS["HEADER_SEARCH_PATHS"]
    # portable_type/bfloat16.h includes <c10/util/BFloat16.h>: ExecuTorch's own config adds this folder
    assert "$(EXECUTORCH_PREFIX)/include" in headers
    assert "$(EXECUTORCH_PREFIX)/include/executorch/runtime/core/portable_type/c10" in headers
    flags = SETTINGS["OTHER_LDFLAGS"]
    libs = {f[2:] for f in flags if f.startswith("-l")}
    forced = {f.rsplit("/lib", 1)[1].removesuffix(".a") for f in flags if f.startswith("-Wl,-force_load,")}
    # extension_training's link interface, the module's (named data map), the optimized kernels' (threadpool)
    assert {"extension_training", "extension_module_static", "extension_data_loader", "extension_flat_tensor"} <= libs
    assert {"extension_named_data_map", "extension_tensor", "kernels_util_all_deps", "executorch_core"} <= libs
    assert {"optimized_kernels", "portable_kernels", "cpublas", "eigen_blas"} <= libs
    assert {"extension_threadpool", "pthreadpool", "cpuinfo"} <= libs
    # prim ops and kernels register in static initializers: those archives are force-loaded, not listed twice
    assert forced == {"executorch", "optimized_native_cpu_ops_lib"} and not forced & libs


def test_the_app_starts_on_a_cold_launch_times_with_a_monotonic_clock_and_keeps_the_run_id():
    app = (IOS / "FlintBench/FlintBenchApp.swift").read_text()
    bench = (IOS / "FlintBench/Benchmark.swift").read_text()
    assert ".task { start() }" in app and ".onChange(of: phase)" in app  # cold launch and re-activation
    assert "Runner.shared.decide(" in app and "case .busy" in app  # one benchmark at a time
    assert "CFAbsoluteTimeGetCurrent" not in bench and "Date()" not in bench.split("static func now()")[0]
    assert "ContinuousClock" in bench
    # an error record is written under the spec's run id (or the launch argument), "unknown" only last
    assert '"run_id": runId(spec)' in bench and 'forKey: "flintRunId") ?? "unknown"' in bench
