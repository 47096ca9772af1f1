"""`flint-bench assess`: stage caching, the decision document and its schema, verdicts, bad input."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest

from flint_bench.assess import run_assess
from flint_bench.assess.cache import STAGE_FILE
from flint_bench.assess.outputs import schema, validate_decision

UPSTREAM = ["benchmark", "profiles", "compat", "sessions", "coverage"]
DOWNSTREAM = ["eligibility", "simulation", "forecast", "decision"]


def markers(out):
    return {p.parent.name: json.loads(p.read_text()) for p in (out / "stages").glob(f"*/{STAGE_FILE}")}


def cached(doc):
    return {s["stage"]: s["cached"] for s in doc["stages"]}


def test_rerun_is_cached_and_a_rules_change_reruns_only_eligibility_and_after(assess_dir, tmp_path):
    config, out = assess_dir(battery=50), tmp_path / "out"
    first = run_assess(config, out).decision
    assert not any(cached(first).values())
    before = markers(out)

    again = run_assess(config, out).decision
    assert all(cached(again).values())
    assert markers(out) == before  # nothing rewritten

    assess_dir(battery=80)  # the rules change; nothing else does
    third = run_assess(config, out).decision
    after = markers(out)
    assert {s: cached(third)[s] for s in UPSTREAM} == dict.fromkeys(UPSTREAM, True)
    assert {s: cached(third)[s] for s in DOWNSTREAM} == dict.fromkeys(DOWNSTREAM, False)
    assert all(after[s] == before[s] for s in UPSTREAM)
    assert all(after[s]["key"] != before[s]["key"] for s in DOWNSTREAM)
    assert third["eligibility"]["eligible_share"] < first["eligibility"]["eligible_share"]

    forced = run_assess(config, out, force=True).decision
    assert not any(cached(forced).values())


def test_decision_json_validates_and_reports_every_figure_or_why_not(assess_dir, tmp_path):
    out = tmp_path / "out"
    run_assess(assess_dir(), out)
    doc = json.loads((out / "decision.json").read_text())
    validate_decision(doc)
    assert doc["schema_version"] == schema()["properties"]["schema_version"]["const"]
    (d,) = doc["decisions"]
    assert (d["model"], d["target"], d["measured_devices"], d["compatible_devices"]) == ("A", "small", 1, 1)
    assert set(d["modes"]) == {"fedavg", "fedbuff"}
    for fig in d["modes"].values():
        assert fig["trials"] == 2 and fig["tasks_started"]["median"] > 0 and fig["device_hours"]["median"] > 0
    assert 0 < d["deployable_session_share"] < 1 and d["money"]["farm"] > 0
    # one Android class stands for no iOS device: the synthetic log's iOS sessions are unmeasured
    unknown = doc["coverage"]["session_share"]["unknown"]
    assert unknown > 0.25 and d["verdict"] == "needs-measurement"
    assert f"{100 * unknown:.0f}% of sessions on device models no measured device stands for" in d["reasons"][0]
    md = (out / "decision.md").read_text()
    assert "| A | small | needs-measurement |" in md and "### Reasons" in md
    html = (out / "report.html").read_text()
    assert html.index('id="decision"') < html.index('id="summary"') and 'id="coverage"' in html
    # the schema bites: a verdict it does not know, or a share above 1, is refused
    for broken in ({**d, "verdict": "maybe"}, {**d, "deployable_session_share": 1.5}):
        with pytest.raises(jsonschema.ValidationError):
            validate_decision({**doc, "decisions": [broken]})


def test_no_go_names_the_breach_and_fail_on_no_go_exits_1(assess_dir, tmp_path, cli):
    config, out = assess_dir(storage=0.001), tmp_path / "out"
    code, stdout, _ = cli("assess", "-c", config, "--out", out, "--format", "json", "--fail-on-no-go")
    assert code == 1
    (d,) = json.loads(stdout)["decisions"]
    assert d["verdict"] == "no-go" and d["compatible_devices"] == 0 and d["modes"] == {}
    assert re.fullmatch(r"storage 0\.01\d* MB >= limit 0\.001 MB for small", d["reasons"][0])
    assert "0% of sessions on devices deployable to small" in d["reasons"]
    assert any(x.startswith("simulation of A for small") for x in d["not_available"])
    code, _, _ = cli("assess", "-c", config, "--out", out, "--quiet")
    assert code == 0  # without --fail-on-no-go a verdict is not a failure


def test_bad_config_key_exits_2_before_any_stage(assess_dir, tmp_path, cli):
    config = assess_dir()
    config.write_text(config.read_text().replace("buffer = 3", "buffer = 100"))
    code, _, err = cli("assess", "-c", config, "--out", tmp_path / "out")
    assert code == 2 and "simulator.fedbuff.buffer" in err and str(config) in " ".join(err.split())
    assert not (tmp_path / "out" / "stages").exists()


def test_a_failing_stage_names_file_and_key_keeps_earlier_stages_runs_none_after(assess_dir, tmp_path, cli):
    config, out = assess_dir(), tmp_path / "out"
    rules = config.parent / "rules.toml"
    rules.write_text(rules.read_text().replace('op = ">="', 'op = "about"'))
    code, _, err = cli("assess", "-c", config, "--out", out)
    err = " ".join(err.split())
    assert code == 2 and "stage 'eligibility' failed" in err and "rules.toml" in err and "criteria[1].op" in err
    assert "Traceback" not in err
    assert set(markers(out)) == {"benchmark", "profiles", "compat", "sessions", "coverage"}


def test_report_shows_a_decision_on_top_and_refuses_a_file_that_is_not_one(assess_dir, tmp_path, cli, a_results):
    out = tmp_path / "out"
    run_assess(assess_dir(), out)
    html = tmp_path / "r.html"
    code, _, err = cli("report", "--results", a_results, "--decision", out / "decision.json", "--out", html)
    assert code == 0, err
    text = html.read_text()
    assert text.index('id="decision"') < text.index('id="coverage"') < text.index('id="summary"')
    assert "needs-measurement" in text and "Coverage of the log" in text
    other = tmp_path / "other.json"
    other.write_text('{"decisions": []}')
    code, _, err = cli("report", "--results", a_results, "--decision", other, "--out", html)
    assert code == 2 and str(other) in " ".join(err.split()) and "not a decision" in err
