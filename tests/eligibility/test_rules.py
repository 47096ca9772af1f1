"""Operators, field kinds and derived fields of single criteria (pure, in-process)."""

import pandas as pd
import pytest

from flint_bench.core.errors import ConfigError
from flint_bench.eligibility import evaluate, normalise, rules_from_dict


@pytest.fixture(scope="module")
def frame():
    return normalise(
        pd.DataFrame(
            {
                "device_id": [1, 2, 3, 4],
                "platform": ["iOS", "iOS", "Android", "Android"],
                "device_model": ["iPhone 11", "iPhone X", "Pixel 7", "Galaxy A10"],
                "os_version": ["17.2", "15", "9", "14"],
                "start": [0.0, 10.0, 20.0, 30.0],
                "end": [100.0, 15.0, 80.0, 31.0],
                "os_release_date": ["2023-09-18", "2021-09-20", "2018-08-06", "2023-10-04"],
                "device_tier": ["mid", "low", "high", "low"],
                "battery": [90, 79.5, 80, None],
                "days_since_last_participation": [None, 3.0, 10.0, 7.0],
            }
        )
    )


def rows(frame, field, op, value):
    rules = rules_from_dict(
        {"criteria": [{"name": "c", "field": field, "op": op, "value": value}], "fairness": {"dimensions": []}}
    )
    return evaluate(frame, rules).eligible_rows.tolist()


@pytest.mark.parametrize(
    "field, op, value, expected",
    [
        ("battery", ">=", 80, [True, False, True, False]),  # a missing battery meets nothing
        ("battery", "!=", 80, [True, True, False, False]),
        ("battery", "in", [90, 80], [True, False, True, False]),
        ("days_since_last_participation", ">=", 7, [True, False, True, True]),  # empty = never participated
        ("os_release_date", ">=", "2019-09-01", [True, True, False, True]),
        ("os_release_date", "in", ["2018-08-06", "2023-10-04"], [False, False, True, True]),
        ("os_version", ">=", "14", [True, True, False, True]),  # numeric: "9" < "14", "17.2" > "14"
        ("os_version", ">=", {"iOS": "16", "Android": "10"}, [True, False, False, True]),
        ("os_version", ">=", {"Android": "10"}, [True, True, False, True]),  # no iOS minimum
        ("device_tier", "not_in", ["low"], [True, False, True, False]),
        ("device_model", "==", "Pixel 7", [False, False, True, False]),
        ("session_seconds", ">", 30, [True, False, True, False]),
        ("os_major", "<", 15, [False, False, True, True]),
        ("os_band", "in", ["Android 9", "iOS 15"], [False, True, True, False]),
    ],
)
def test_operators(frame, field, op, value, expected):
    assert rows(frame, field, op, value) == expected


@pytest.mark.parametrize(
    "criterion, key, text",
    [
        ({"name": "c", "field": "battery", "op": ">=", "value": "high"}, "criteria[0].value", "expected a number"),
        ({"name": "c", "field": "os_release_date", "op": ">=", "value": "Sept 2019"}, "criteria[0].value", "2019-09-01"),
        ({"name": "c", "field": "device_tier", "op": "<", "value": "mid"}, "criteria[0].op", "does not apply"),
        ({"name": "c", "field": "battery", "op": "in", "value": 80}, "criteria[0].value", "non-empty list"),
        (
            {"name": "c", "field": "battery", "op": ">=", "value": 80, "compat": {"model": "E", "target": "t"}},
            "criteria[0].field",
            "not both",
        ),
        ({"name": "c", "compat": {"model": "E"}}, "criteria[0].compat.target", "missing required key"),
    ],
)
def test_bad_criteria_name_the_key(criterion, key, text):
    with pytest.raises(ConfigError) as e:
        rules_from_dict({"criteria": [criterion]}, "r.toml")
    assert e.value.key == key and text in e.value.problem


def test_duplicate_names_and_bad_fairness_settings():
    c = {"name": "c", "field": "wifi", "op": "==", "value": True}
    with pytest.raises(ConfigError, match="unique"):
        rules_from_dict({"criteria": [c, c]})
    with pytest.raises(ConfigError) as e:
        rules_from_dict({"criteria": [c], "fairness": {"dimensions": ["colour"]}})
    assert e.value.key == "fairness.dimensions[0]"
    with pytest.raises(ConfigError) as e:
        rules_from_dict({"criteria": [c], "unit": "week"})
    assert e.value.key == "unit"


def test_validation_never_changes_the_config():
    rules = rules_from_dict(
        {
            "criteria": [
                {"name": "b", "field": "battery", "op": ">=", "value": 80},
                {"name": "d", "field": "os_release_date", "op": "in", "value": ["2019-09-01"]},
                {"name": "c", "compat": {"model": "E", "target": "t"}},
            ]
        },
        "r.toml",
    )
    battery, date, compat = rules.criteria
    assert battery.value == 80 and isinstance(battery.value, int) and battery.operand == 80.0
    assert date.value == ["2019-09-01"] and [str(d) for d in date.operand] == ["2019-09-01"]
    assert battery.family is None and battery.effective_family == "device_state"
    assert compat.family is None and compat.effective_family == "compute"
    assert rules.source == "r.toml"


@pytest.mark.parametrize(
    "fairness, key",
    [
        ({"min_ratio": 0}, "fairness.min_ratio"),
        ({"min_ratio": 1.5}, "fairness.min_ratio"),
        ({"min_devices": 0}, "fairness.min_devices"),
    ],
)
def test_fairness_ranges_are_declared(fairness, key):
    c = {"name": "c", "field": "wifi", "op": "==", "value": True}
    with pytest.raises(ConfigError) as e:
        rules_from_dict({"criteria": [c], "fairness": fairness})
    assert e.value.key == key
