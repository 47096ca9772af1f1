"""Issue 12: a rule `value = nan` (or an infinity) compared false with every session and so
passed or excluded everyone silently; it is rejected naming `criteria[i].value`."""

from __future__ import annotations

import pytest

from flint_bench.core.errors import ConfigError
from flint_bench.eligibility.rules import load_rules

RULE = '[[criteria]]\nname = "wifi"\nfield = "wifi"\nop = "=="\nvalue = true\n'


@pytest.mark.parametrize(
    "criterion, key",
    [
        ('op = ">="\nvalue = nan', "criteria[1].value"),
        ('op = "<"\nvalue = inf', "criteria[1].value"),
        ('op = "in"\nvalue = [20, -inf]', "criteria[1].value[1]"),
        ('op = "=="\nvalue = 99999999999999999999999999999999999999' + "9" * 300, "criteria[1].value"),
    ],
)
def test_a_non_finite_rule_value_names_its_key(write, criterion, key):
    rules = write("rules.toml", RULE + f'[[criteria]]\nname = "battery"\nfield = "battery"\n{criterion}\n')
    with pytest.raises(ConfigError) as info:
        load_rules(rules)
    assert info.value.key == key and "finite number" in str(info.value) and "rules.toml" in str(info.value)


def test_a_non_finite_rule_value_exits_2_through_the_cli(table1_log, write, flint):
    rules = write("rules.toml", '[[criteria]]\nname = "battery"\nfield = "battery"\nop = ">="\nvalue = nan\n')
    proc = flint("eligibility", "--sessions", table1_log["csv"], "--rules", rules, expect=2)
    assert "criteria[0].value" in proc.stderr and "Traceback" not in proc.stderr
