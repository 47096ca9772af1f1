"""A compute-capability criterion from benchmarks: device models whose profile meets a target's budgets."""

import numpy as np
import pandas as pd

from flint_bench.budgets import load_budgets
from flint_bench.eligibility import CompatLookup, evaluate, normalise, rules_from_dict
from flint_bench.profiles import build_profiles, write_profiles

BUDGETS = """
[targets.app]
max_memory_mb = 16
max_task_seconds = 60
task_examples = 1000
min_os_version = { Android = "10", iOS = "15" }
"""


def _log():
    # (device model, platform, OS version) per device; 'Moto X' has no profile
    devices = [
        ("Pixel 7", "Android", "14"),
        ("Pixel 7", "Android", "9"),
        ("Galaxy A10", "Android", "11"),
        ("iPhone 11", "iOS", "17"),
        ("iPhone 11", "iOS", "14.8"),
        ("Moto X", "Android", "13"),
    ]
    return normalise(
        pd.DataFrame(
            [
                {"device_id": i, "platform": p, "device_model": m, "os_version": v, "start": 0.0, "end": 60.0}
                for i, (m, p, v) in enumerate(devices)
            ]
        )
    )


def _lookup(make_record, write):
    rng = np.random.default_rng(0)
    fast, slow = list(rng.uniform(0.01, 0.02, 8)), list(rng.uniform(0.1, 0.3, 8))
    profiles = build_profiles(
        [
            make_record("E", "Pixel 7", "Android", "14", fast),
            make_record("E", "Galaxy A10", "Android", "11", slow),  # too slow: p99 x 1000 > 60 s
            make_record("E", "iPhone 11", "iOS", "17.2", fast),
        ]
    )
    return CompatLookup(profiles, load_budgets(write("b.toml", BUDGETS)))


def test_compat_criterion_uses_profiles_budgets_and_the_sessions_os(make_record, write):
    rules = {"criteria": [{"name": "fits E", "compat": {"model": "E", "target": "app"}}], "fairness": {"dimensions": []}}
    funnel = evaluate(_log(), rules_from_dict(rules), _lookup(make_record, write))
    # eligible: Pixel 7 on Android 14, iPhone 11 on iOS 17; not: Android 9 / iOS 14.8 (min OS), Galaxy A10 (slow), Moto X (no profile)
    assert funnel.eligible_rows.tolist() == [True, False, False, True, False, False]
    assert funnel.criteria[0]["family"] == "compute"
    include = dict(rules, criteria=[{"name": "fits E", "compat": {"model": "E", "target": "app", "unprofiled": "include"}}])
    assert evaluate(_log(), rules_from_dict(include), _lookup(make_record, write)).eligible_rows.tolist()[-1] is True


def test_cli_compat_rule_with_budgets_next_to_the_rules(make_record, tmp_path, write, flint_json):
    log = tmp_path / "log.parquet"
    _log().assign(start=0.0, end=60.0).to_parquet(log)
    profiles = tmp_path / "profiles.parquet"
    write_profiles(_lookup(make_record, write).profiles, profiles)
    write("budgets.toml", BUDGETS)
    rules = write(
        "rules.toml",
        'budgets = "budgets.toml"\n[fairness]\ndimensions = ["platform"]\n'
        '[[criteria]]\nname = "fits E"\ncompat = { model = "E", target = "app" }\n',
    )
    doc = flint_json("eligibility", "-s", log, "-r", rules, "-p", profiles)
    assert doc["devices"] == 6 and doc["all_criteria_devices"] == 2
