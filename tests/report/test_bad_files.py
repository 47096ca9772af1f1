"""Issue 12 item 4: `report` turns every broken input (eligibility JSON, simulation summary and
curves, profiles, budgets, result records) into exit 2 naming the file, never a traceback."""

from __future__ import annotations

import json

import pytest
from properties.badfiles import assert_exit_2_naming, write_bad
from properties.gen import valid_record

from flint_bench.profiles import build_profiles, write_profiles


@pytest.fixture
def results(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "good.json").write_text(json.dumps(valid_record()))
    return folder


def _bad_input(tmp_path, results, what, kind):
    """(the report's options, the broken file) for one input."""
    if what == "eligibility":
        good = tmp_path / "good-eligibility.json"
        good.write_text(json.dumps({"criteria": []}))
        bad = tmp_path / "eligibility.json"
        return ["--eligibility", bad], _write(bad, kind, good)
    if what in ("summary", "curves"):
        sim = tmp_path / "sim"
        sim.mkdir()
        good = tmp_path / "good-summary.json"
        good.write_text(json.dumps({"config": {}}))
        bad = sim / ("summary.json" if what == "summary" else "metrics.parquet")
        return ["--simulation", sim], _write(bad, kind, good)
    if what == "profiles":
        good = write_profiles(build_profiles([valid_record()]), tmp_path / "good.parquet")
        bad = tmp_path / "profiles.parquet"
        return ["--profiles", bad], _write(bad, kind, good)
    if what == "budgets":
        good = tmp_path / "good.toml"
        good.write_text("[targets.t]\nmax_memory_mb = 5\n")
        bad = tmp_path / "budgets.toml"
        return ["--budgets", bad], _write(bad, kind, good)
    bad = results / "bad.json"
    return [], _write(bad, kind, results / "good.json")


def _write(bad, kind, good):
    if kind == "not-json":
        bad.write_bytes(b"[1, 2" if bad.suffix == ".json" else b"not = [toml")
        return bad
    return write_bad(bad, kind, good)


@pytest.mark.parametrize("kind", ["not-utf8", "garbage", "empty", "truncated", "not-json"])
@pytest.mark.parametrize("what", ["eligibility", "summary", "curves", "profiles", "budgets", "record"])
def test_a_broken_input_is_exit_2_naming_it(tmp_path, cli, results, what, kind):
    options, bad = _bad_input(tmp_path, results, what, kind)
    assert_exit_2_naming(cli("report", "--results", results, "--out", tmp_path / "r.html", *options), bad)


@pytest.mark.parametrize("document", [b"[]", b'"text"', b"{}"])
def test_json_that_is_not_an_eligibility_or_simulation_document_is_exit_2(tmp_path, cli, results, document):
    for option, name in (("--eligibility", "eligibility.json"), ("--simulation", "summary.json")):
        bad = tmp_path / name
        bad.write_bytes(document)
        code, _, err = cli("report", "--results", results, "--out", tmp_path / "r.html", option, bad)
        if option == "--simulation" and document == b"{}":
            assert code == 0, err  # an empty summary is a summary with nothing in it
            continue
        assert_exit_2_naming((code, "", err), bad)
