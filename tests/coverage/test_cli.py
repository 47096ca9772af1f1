"""`flint-bench eligibility` with profiles: coverage figures, the zero-match warning and --strict;
the local farm's classes standing for user devices of their tier; `farm pick`; bad mapping files."""

import json

import pytest

from flint_bench.eligibility.synth import SynthSettings, write_synthetic_log
from flint_bench.profiles import write_profiles

from .conftest import local_classes_profiles, profile_row, profiles_frame

BUDGETS = '[targets.app]\nmax_memory_mb = 16\nmax_task_seconds = 60\ntask_examples = 1000\nplatforms = ["Android", "iOS"]\n'
RULES = 'budgets = "budgets.toml"\n[fairness]\ndimensions = ["platform"]\n[[criteria]]\nname = "fits E"\ncompat = { model = "E", target = "app" }\n'


@pytest.fixture(scope="module")
def synth_log(tmp_path_factory):
    out = tmp_path_factory.mktemp("log") / "sessions.parquet"
    write_synthetic_log(SynthSettings(devices=1500, days=2, seed=3), out)
    return out


def _setup(tmp_path, write, profiles):
    write("budgets.toml", BUDGETS)
    write_profiles(profiles, tmp_path / "profiles.parquet")
    return write("rules.toml", RULES), tmp_path / "profiles.parquet"


def test_local_classes_stand_for_user_devices_of_their_tier(cli, tmp_path, write, synth_log):
    rules, profiles = _setup(tmp_path, write, local_classes_profiles())
    code, out, err = cli("eligibility", "-s", synth_log, "-r", rules, "-p", profiles, "--strict", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    # high and mid classes meet the budgets; the low class is too slow; iOS is not measured
    assert doc["all_criteria_devices"] > 0 and doc["warnings"] == []
    cov = doc["coverage"]
    assert cov["session_share"]["exact"] == 0 and cov["session_share"]["attributes"] > 0.4
    assert cov["session_share"]["attributes"] + cov["session_share"]["unknown"] == pytest.approx(1.0)
    by = {(g["platform"], g["device_tier"]): g for g in cov["by_group"]}
    assert by[("Android", "low")]["session_share"]["attributes"] == 1.0 and by[("iOS", "mid")]["session_share"]["unknown"] == 1.0
    mapped = {r["device_model"]: r["measured_device"] for r in doc["device_mapping"]}
    assert mapped["Pixel 7"] == "vm (high-end)" and mapped["Samsung Galaxy A14"] == "vm (low-end)"
    eligible_tiers = {s["value"]: s["all_criteria_share"] for s in doc["subpopulations"] if s["dimension"] == "platform"}
    assert eligible_tiers["Android"] > 0 and eligible_tiers["iOS"] == 0


def test_a_compat_criterion_matching_no_measured_device_warns_and_strict_exits_1(cli, tmp_path, write, synth_log):
    old_local = profiles_frame(profile_row("vm (local-cpu)", os="Linux", os_version="6.1"))  # before classes had a tier
    rules, profiles = _setup(tmp_path, write, old_local)
    code, out, err = cli("eligibility", "-s", synth_log, "-r", rules, "-p", profiles)
    assert code == 0 and "criterion 'fits E': no device model of the session log maps to a measured device" in err
    assert "device coverage" in out and "0 devices" not in err
    code, out, err = cli("eligibility", "-s", synth_log, "-r", rules, "-p", profiles, "--strict", "--format", "json")
    doc = json.loads(out)
    assert code == 1 and doc["all_criteria_devices"] == 0 and len(doc["warnings"]) == 2
    assert doc["coverage"]["session_share"]["unknown"] == 1.0


def test_a_bad_mapping_file_exits_2_naming_file_and_row(cli, tmp_path, write, synth_log):
    rules, profiles = _setup(tmp_path, write, local_classes_profiles())
    bad = write("map.csv", "pattern,measured_device\nPixel*,vm (high-end)\nGalaxy*\n")
    code, _, err = cli("eligibility", "-s", synth_log, "-r", rules, "-p", profiles, "--device-map", bad)
    assert code == 2 and str(bad) in err and "row 3" in err and "Traceback" not in err
    good = write("good.csv", "pattern,measured_device\nsamsung galaxy s2*,vm (low-end)\n")
    code, out, _ = cli("eligibility", "-s", synth_log, "-r", rules, "-p", profiles, "--device-map", good, "--format", "json")
    rows = {r["device_model"]: r for r in json.loads(out)["device_mapping"]}
    assert (
        rows["Samsung Galaxy S23 Ultra"]["match"] == "file"
        and rows["Samsung Galaxy S23 Ultra"]["measured_device"] == "vm (low-end)"
    )


def test_farm_pick_on_the_local_classes(cli, tmp_path, write, synth_log):
    farm = write(
        "farm.toml",
        'kind = "local"\nname = "classes"\n[[local.devices]]\nname = "hi"\ntier = "high"\n'
        '[[local.devices]]\nname = "lo"\ntier = "low"\n[[local.devices]]\nname = "lo2"\ntier = "low"\n'
        '[[local.devices]]\nname = "ios-mid"\nplatform = "iOS"\ntier = "mid"\n',
    )
    code, out, err = cli("farm", "pick", "--sessions", synth_log, "--farm", farm, "--count", "4", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    picks = [p["device"]["id"] for p in doc["picks"]]
    assert len(picks) == 3 and "lo2" not in picks  # the second low class adds nothing: left out, not padded
    added = [p["sessions_added_share"] for p in doc["picks"]]
    assert added == sorted(added, reverse=True) and all(a > 0 for a in added)
    assert doc["picks"][-1]["cumulative_share"] == pytest.approx(sum(added))
    code, out, _ = cli("farm", "pick", "--sessions", synth_log, "--farm", farm, "--count", "2")
    assert code == 0 and "sessions added" in out
