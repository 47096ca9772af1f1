"""Bad rules and bad session logs exit 2 with one message naming the file, the field and what is expected."""

import pandas as pd
import pytest

RULE = '[[criteria]]\nname = "wifi"\nfield = "wifi"\nop = "=="\nvalue = true\n'


def _no_traceback(proc):
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    return proc.stderr.replace("\n", " ")


@pytest.mark.parametrize(
    "text, needles",
    [
        (RULE.replace('field = "wifi"', 'field = "wiifi"'), ["criteria[0].field", "unknown field 'wiifi'", "battery"]),
        (RULE.replace('op = "=="', 'op = "=>"'), ["criteria[0].op", "unknown operator '=>'", ">="]),
        (RULE + 'colour = "red"\n', ["criteria[0].colour", "unknown key"]),
        ('all_of = ["wifi", "battery"]\n' + RULE, ["all_of[1]", "unknown criterion 'battery'"]),
        (RULE.replace("value = true", 'value = "yes"'), ["criteria[0].value", "true or false"]),
        (RULE.replace('op = "=="', 'op = ">="'), ["criteria[0].op", "does not apply to bool"]),
        ("[fairness]\nmin_ratio = 0.8\n", ["criteria", "missing required key"]),
    ],
)
def test_bad_rules_name_file_and_key(table1_log, write, flint, text, needles):
    rules = write("bad.toml", text)
    err = _no_traceback(flint("eligibility", "--sessions", table1_log["csv"], "--rules", rules, expect=None))
    for n in ["bad.toml", *needles]:
        assert n in err, (n, err)


def _csv(tmp_path, frame, name="log.csv"):
    p = tmp_path / name
    frame.to_csv(p, index=False)
    return p


def test_missing_column_names_it_and_the_schema(table1_log, tmp_path, flint):
    log = _csv(tmp_path, pd.read_csv(table1_log["csv"]).drop(columns=["battery"]))
    err = _no_traceback(flint("eligibility", "-s", log, "-r", table1_log["rules"], expect=None))
    assert "log.csv" in err and "['battery'] missing" in err and "needed by the rules" in err and "battery (number)" in err


def test_bad_type_names_the_column_and_the_value(table1_log, tmp_path, flint):
    frame = pd.read_csv(table1_log["csv"])
    frame["battery"] = frame["battery"].astype(object)
    frame.loc[5, "battery"] = "full"
    err = _no_traceback(flint("eligibility", "-s", _csv(tmp_path, frame), "-r", table1_log["rules"], expect=None))
    assert "column 'battery': expected a number, found 'full'" in err


def test_bad_bool_and_bad_date(table1_log, tmp_path, flint):
    frame = pd.read_csv(table1_log["csv"])
    frame["wifi"] = frame["wifi"].map({True: "yes", False: "no"})
    err = _no_traceback(flint("eligibility", "-s", _csv(tmp_path, frame), "-r", table1_log["rules"], expect=None))
    assert "column 'wifi': expected true/false" in err and "'yes'" in err
    frame = pd.read_csv(table1_log["csv"])
    frame.loc[0, "os_release_date"] = "Sept 2019"
    err = _no_traceback(flint("eligibility", "-s", _csv(tmp_path, frame, "d.csv"), "-r", table1_log["rules"], expect=None))
    assert "column 'os_release_date': expected a date" in err and "'Sept 2019'" in err


def test_empty_log_and_missing_file(table1_log, tmp_path, flint):
    empty = _csv(tmp_path, pd.read_csv(table1_log["csv"]).iloc[:0], "empty.csv")
    assert "empty.csv: the session log is empty" in _no_traceback(
        flint("eligibility", "-s", empty, "-r", table1_log["rules"], expect=None)
    )
    err = _no_traceback(flint("eligibility", "-s", tmp_path / "nope.parquet", "-r", table1_log["rules"], expect=None))
    assert "nope.parquet: session log not found" in err


def test_compat_criterion_without_profiles_is_a_user_error(table1_log, write, flint):
    rules = write("c.toml", '[[criteria]]\nname = "fits"\ncompat = { model = "E", target = "first_party" }\n')
    err = _no_traceback(flint("eligibility", "-s", table1_log["csv"], "-r", rules, expect=None))
    assert "c.toml" in err and "--profiles" in err


@pytest.mark.parametrize(
    "args",
    [
        ["eligibility", "-s", "nope.parquet", "-r", "nope.toml"],
        ["sessions", "synth", "-n", "10", "--out", "log.txt"],
        ["sessions", "synth", "-n", "10", "--start", "Feb 29"],
    ],
)
def test_with_format_json_an_error_is_one_json_object(args, tmp_path, flint):
    import json

    proc = flint(*[str(tmp_path / a) if a.startswith(("nope", "log.")) else a for a in args], "--format", "json", expect=2)
    error = json.loads(proc.stdout)["error"]
    assert error["exit_code"] == 2 and error["kind"] == "UserError" and error["message"]
