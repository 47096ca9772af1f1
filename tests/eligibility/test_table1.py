"""The paper's Table 1 on a hand-built log: WiFi 70%, battery >= 80% 34%, OS >= Sept 2019 93%, all 22%."""

import pandas as pd
import pytest

from flint_bench.eligibility import evaluate, load_rules, read_sessions

EXPECTED = {"A: connected to WiFi": 0.70, "B: battery >= 80%": 0.34, "C: OS released >= Sept. 2019": 0.93}


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_hand_built_log_gives_table1_exactly(table1_log, kind):
    rules = load_rules(table1_log["rules"])
    funnel = evaluate(read_sessions(table1_log[kind], rules.fields(), rules.optional_fields()), rules)
    assert funnel.devices == 100
    assert {c["name"]: c["share_alone"] for c in funnel.criteria} == EXPECTED
    assert funnel.all_criteria_share == 0.22
    # the funnel's cumulative steps: A, then A and B at once (22 + 3 old-OS devices), then all
    assert [c["cumulative_share"] for c in funnel.criteria] == [0.70, 0.25, 0.22]
    assert {c["name"]: c["family"] for c in funnel.criteria} == {
        "A: connected to WiFi": "device_state",
        "B: battery >= 80%": "device_state",
        "C: OS released >= Sept. 2019": "compute",
    }


def test_cli_json_document_has_the_contract_fields(table1_log, flint_json, tmp_path):
    traces = tmp_path / "traces.csv"
    doc = flint_json("eligibility", "--sessions", table1_log["parquet"], "--rules", table1_log["rules"], "--traces-out", traces)
    assert doc["devices"] == 100 and doc["all_criteria_share"] == 0.22
    assert [(c["name"], c["share_alone"]) for c in doc["criteria"]] == list(EXPECTED.items())
    assert all(set(c) >= {"name", "family", "share_alone"} for c in doc["criteria"])
    platforms = {s["value"]: s for s in doc["subpopulations"] if s["dimension"] == "platform"}
    assert set(platforms) == {"iOS", "Android"} and sum(s["devices"] for s in platforms.values()) == 100
    assert all(set(s) >= {"dimension", "value", "devices", "all_criteria_share", "criteria"} for s in doc["subpopulations"])
    assert isinstance(doc["fairness_warnings"], list)
    # traces: the 22 eligible devices' qualifying sessions, seconds since midnight of the log's first day
    t = pd.read_csv(traces)
    assert list(t.columns[:3]) == ["device_id", "start", "end"]
    # the attributes the simulator maps each trace device by, the tier included
    assert {"device_model", "platform", "os_version", "device_tier"} <= set(t.columns) and set(t["device_tier"]) == {"mid"}
    assert t["device_id"].nunique() == 22 and len(t) == 22
    assert (t["start"] == 8 * 3600).all() and (t["end"] - t["start"] == 600).all()
    assert doc["traces"]["rows"] == 22 and doc["log_start"] == "2024-03-04T00:00:00Z"


def test_table_format_prints_the_funnel(table1_log, flint):
    out = flint("eligibility", "--sessions", table1_log["csv"], "--rules", table1_log["rules"]).stdout
    for text in ("70.0%", "34.0%", "93.0%", "22.0%", "per sub-population"):
        assert text in out


def test_shuffled_rows_and_string_ids_give_the_same_funnel(table1_log):
    from flint_bench.eligibility import SessionTable, normalise

    rules = load_rules(table1_log["rules"])
    frame = pd.read_csv(table1_log["csv"]).sample(frac=1.0, random_state=3)
    frame["device_id"] = "dev-" + frame["device_id"].astype(str)
    frame = normalise(frame.reset_index(drop=True))
    assert not SessionTable.from_frame(frame).contiguous
    funnel = evaluate(frame, rules)
    assert [c["share_alone"] for c in funnel.criteria] == list(EXPECTED.values()) and funnel.all_criteria_share == 0.22


def test_device_day_unit_and_the_eligible_availability_curve():
    from flint_bench.eligibility import normalise, rules_from_dict

    day = 86400.0
    frame = normalise(
        pd.DataFrame(
            {
                "device_id": [0, 0, 1, 1],
                "platform": ["iOS"] * 4,
                "device_model": ["iPhone 13"] * 4,
                "os_version": ["17"] * 4,
                "start": [3600.0, day + 3600.0, 7200.0, day + 7200.0],
                "end": [5400.0, day + 5400.0, 9000.0, day + 9000.0],
                "wifi": [True, False, True, True],
            }
        )
    )
    rules = {"criteria": [{"name": "wifi", "field": "wifi", "op": "==", "value": True}]}
    assert evaluate(frame, rules_from_dict(rules)).all_criteria_share == 1.0
    funnel = evaluate(frame, rules_from_dict(dict(rules, unit="device_day")))
    assert funnel.unit == "device_day" and funnel.devices == 2 and funnel.units == 4 and funnel.all_criteria_share == 0.75
    assert funnel.subpopulations[0]["devices"] == 2 and funnel.subpopulations[0]["units"] == 4
    curve = funnel.availability["hourly_eligible_sessions"]
    assert funnel.availability["hours"] == 27 and curve[1] == 1 and curve[2] == 1 and curve[25] == 0 and curve[26] == 1


def test_a_log_without_the_optional_tier_column_still_runs(table1_log, tmp_path, flint_json):
    log = tmp_path / "no_tier.csv"
    pd.read_csv(table1_log["csv"]).drop(columns=["device_tier"]).to_csv(log, index=False)
    doc = flint_json("eligibility", "-s", log, "-r", table1_log["rules"])  # default dimensions include device_tier
    assert doc["all_criteria_share"] == 0.22
    assert {s["dimension"] for s in doc["subpopulations"]} == {"platform", "os_band"}


def test_names_from_the_rules_are_printed_literally(table1_log, write, flint):
    rules = write("m.toml", '[[criteria]]\nname = "[bold]wifi[/bold] [red]"\nfield = "wifi"\nop = "=="\nvalue = true\n')
    out = flint("eligibility", "-s", table1_log["csv"], "-r", rules).stdout
    assert "[bold]wifi[/bold] [red]" in out.replace("\n", "")
