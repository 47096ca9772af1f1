"""A rule that removes a sub-population (older phones) must be visible as a fairness warning."""

import pandas as pd

from flint_bench.eligibility import evaluate, normalise, rules_from_dict


def _log(n_per_tier=100):
    """Three tiers; low-tier phones are old (OS released 2018), the others new. WiFi is the same everywhere."""
    rows = []
    for t_i, tier in enumerate(["low", "mid", "high"]):
        for k in range(n_per_tier):
            d = t_i * n_per_tier + k
            old = tier == "low"
            rows.append(
                {
                    "device_id": d,
                    "platform": "Android" if d % 2 else "iOS",
                    "device_model": f"{tier}-phone",
                    "device_tier": tier,
                    "os_version": "9" if old else "13",
                    "os_release_date": pd.Timestamp("2018-08-06" if old else "2022-08-15"),
                    "start": 3600.0 * k,
                    "end": 3600.0 * k + 300,
                    "wifi": k % 10 < 7,
                    "battery": 50 + k % 50,
                }
            )
    return normalise(pd.DataFrame(rows))


RULES = {
    "criteria": [
        {"name": "wifi", "field": "wifi", "op": "==", "value": True},
        {"name": "new hardware", "field": "os_release_date", "op": ">=", "value": "2019-09-01"},
    ],
    "fairness": {"min_ratio": 0.8, "min_devices": 30, "dimensions": ["device_tier", "platform"]},
}


def test_excluding_old_phones_warns_for_the_low_tier_only():
    funnel = evaluate(_log(), rules_from_dict(RULES))
    by = {(w["criterion"], w["dimension"], w["value"]): w for w in funnel.fairness_warnings}
    assert set(by) == {("new hardware", "device_tier", "low"), ("all criteria", "device_tier", "low")}
    w = by[("new hardware", "device_tier", "low")]
    assert w["share"] == 0.0 and abs(w["overall_share"] - 2 / 3) < 1e-12 and w["ratio"] == 0.0
    assert "device_tier=low" in w["message"] and "new hardware" in w["message"]
    low = next(s for s in funnel.subpopulations if s["dimension"] == "device_tier" and s["value"] == "low")
    assert low["devices"] == 100 and low["all_criteria_share"] == 0.0


def test_relaxing_the_ratio_or_a_small_group_silences_the_warning():
    relaxed = dict(RULES, fairness={"min_ratio": 0.8, "min_devices": 101, "dimensions": ["device_tier"]})
    assert evaluate(_log(), rules_from_dict(relaxed)).fairness_warnings == []
    only_wifi = dict(RULES, criteria=RULES["criteria"][:1])
    assert evaluate(_log(), rules_from_dict(only_wifi)).fairness_warnings == []


def test_cli_fail_on_warning_exits_1(tmp_path, flint):
    log = tmp_path / "s.parquet"
    _log().to_parquet(log)
    rules = tmp_path / "r.toml"
    rules.write_text(
        '[[criteria]]\nname = "new hardware"\nfield = "device_tier"\nop = "in"\nvalue = ["mid", "high"]\n'
        '[fairness]\ndimensions = ["device_tier"]\n'
    )
    proc = flint("eligibility", "-s", log, "-r", rules, "--fail-on-warning", expect=1)
    assert "fairness warning" in proc.stdout and "device_tier=low" in proc.stdout
