"""The one output handler writes strict JSON only."""

from __future__ import annotations

import json

import pytest

from flint_bench.cli.output import print_json


def test_print_json_refuses_nan_and_prints_nothing(capsys):
    with pytest.raises(ValueError, match="Out of range float"):
        print_json({"summary": [{"mean_s_per_5000": float("nan")}]})
    assert capsys.readouterr().out == ""


def test_print_json_writes_strict_json(capsys):
    print_json({"value": 1.5, "missing": None})
    assert json.loads(capsys.readouterr().out, parse_constant=lambda c: pytest.fail(c)) == {"value": 1.5, "missing": None}
