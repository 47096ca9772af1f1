"""Every config kind the tool reads, fed generated TOML built from its real dataclass fields.

Properties: any document loads or raises UserError (ConfigError included), never another
exception; NaN or an infinity in any numeric field is rejected with that field's dotted key.
In-process (fast), plus a few documents through the real CLI in a subprocess.
"""

from __future__ import annotations

import contextlib
import copy
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from properties.gen import EXAMPLES, NON_FINITE, minimal, numeric_paths, set_path, table, toml_dumps

from flint_bench.budgets import _BudgetsFile, load_budgets
from flint_bench.core.config import read_toml
from flint_bench.core.errors import ConfigError, UserError
from flint_bench.eligibility.rules import RuleSet, load_rules
from flint_bench.eligibility.synth import SynthSettings, synth_settings
from flint_bench.farms import REGISTRY, farm_class, load_farm_file
from flint_bench.farms.base import RunSettings
from flint_bench.simulator.config import SimConfig, parse

REPO = Path(__file__).resolve().parents[2]
WORK = Path(tempfile.mkdtemp(prefix="flint-props-"))


def _farm_kinds() -> list[str]:
    kinds = []
    for kind in sorted(REGISTRY):
        try:
            farm_class(kind)
        except UserError:  # an optional package (e.g. boto3) not installed here
            continue
        kinds.append(kind)
    return kinds


FARM_KINDS = _farm_kinds()


def _load_sim(path: Path) -> Any:
    return parse(read_toml(path), path)


def _farm_doc(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    section = kind.replace("-", "_")
    settings_cls = farm_class(kind).settings_class
    return st.fixed_dictionaries(
        {"kind": st.just(kind)},
        optional={"name": st.sampled_from(["lab", "", 1]), "run": table(RunSettings), section: table(settings_cls)},
    )


# kind -> (document strategy, loader of a file, dataclass and minimal valid document for the NaN property)
KINDS: dict[str, tuple[st.SearchStrategy[dict[str, Any]], Callable[[Path], Any], type, dict[str, Any]]] = {
    "budgets": (table(_BudgetsFile), load_budgets, _BudgetsFile, {"targets": {"t": {}}}),
    "rules": (
        table(RuleSet),
        load_rules,
        RuleSet,
        {"criteria": [{"name": "c", "field": "battery", "op": ">=", "value": 50}]},
    ),
    "simulator": (table(SimConfig), _load_sim, SimConfig, {"sim": {"model": "A"}}),
    **{
        f"farm-{kind}": (  # numeric paths: run.* and the kind's table (_nan_paths)
            _farm_doc(kind),
            load_farm_file,
            RunSettings,
            {"kind": kind, kind.replace("-", "_"): minimal(farm_class(kind).settings_class)},
        )
        for kind in FARM_KINDS
    },
}


def _write(text: str) -> Path:
    fd, name = tempfile.mkstemp(suffix=".toml", dir=WORK)
    with open(fd, "w") as f:
        f.write(text)
    return Path(name)


@pytest.mark.parametrize("kind", sorted(KINDS))
@given(data=st.data())
def test_any_document_loads_or_is_a_user_error(kind, data):
    EXAMPLES[f"configs:{kind}"] += 1
    strategy, loader, _, _ = KINDS[kind]
    doc = data.draw(strategy)
    path = _write(toml_dumps(doc))
    try:
        loader(path)
    except UserError as e:
        assert str(path) in str(e)  # the message names the file
    finally:
        path.unlink()


def _nan_paths(kind: str) -> list[tuple[list[Any], str]]:
    _, _, cls, base = KINDS[kind]
    if kind.startswith("farm-"):
        section = kind.removeprefix("farm-").replace("-", "_")
        settings_cls = farm_class(kind.removeprefix("farm-")).settings_class
        return [(["run", *p], f"run.{k}") for p, k in numeric_paths(RunSettings, {})] + [
            ([section, *p], f"{section}.{k}") for p, k in numeric_paths(settings_cls, {})
        ]
    paths = numeric_paths(cls, base)
    if kind == "rules":  # `value` is typed by the criterion's field: battery is a number
        paths.append((["criteria", 0, "value"], "criteria[0].value"))
    return paths


@pytest.mark.parametrize("kind", sorted(KINDS))
@given(data=st.data())
def test_nan_or_infinity_in_a_numeric_field_names_its_key(kind, data):
    EXAMPLES[f"nan-key:{kind}"] += 1
    _, loader, _, base = KINDS[kind]
    path_in_doc, key = data.draw(st.sampled_from(_nan_paths(kind)), label="field")
    value = data.draw(st.sampled_from(NON_FINITE), label="value")
    doc = copy.deepcopy(base)
    set_path(doc, path_in_doc, value)
    path = _write(toml_dumps(doc))
    try:
        with pytest.raises(ConfigError) as info:
            loader(path)
        assert info.value.key == key, str(info.value)
        assert str(path) in str(info.value)
    finally:
        path.unlink()


def test_every_numeric_field_is_covered():
    """The NaN property reaches the fields that matter (a guard against the generator finding none)."""
    assert {"targets.t.max_memory_mb", "targets.t.task_quantile"} <= {k for _, k in _nan_paths("budgets")}
    assert {"criteria[0].value", "fairness.min_ratio"} <= {k for _, k in _nan_paths("rules")}
    assert {"sim.client_lr", "fedavg.overcommit", "population.availability.peak_hour"} <= {k for _, k in _nan_paths("simulator")}
    assert {"run.timeout_s", "run.cooldown_s", "local.sample_hz"} <= {k for _, k in _nan_paths("farm-local")}


@given(doc=table(SynthSettings))
def test_synth_settings_are_valid_or_a_user_error(doc):
    EXAMPLES["configs:synth"] += 1
    with contextlib.suppress(UserError):
        synth_settings(**doc)


@pytest.mark.parametrize("name", ["devices", "days", "ios_share", "sessions_per_day", "chunk_devices"])
@pytest.mark.parametrize("value", NON_FINITE)
def test_synth_settings_reject_non_finite_with_the_option(name, value):
    with pytest.raises(ConfigError) as info:
        synth_settings(**{name: value})
    assert info.value.key == name


# -- the real CLI, in a subprocess: exit 0, 1 or 2, never a traceback --------------------------------


def _cli_args(kind: str, config: Path, tmp: Path) -> list[str]:
    if kind == "budgets":
        return ["compat", "--budgets", str(config), "--profiles", str(tmp / "missing.parquet")]
    if kind == "rules":
        return ["eligibility", "--rules", str(config), "--sessions", str(tmp / "missing.csv")]
    if kind == "simulator":
        return ["simulate", "--config", str(config)]
    return ["farm", "list", "--farm", str(config)]


@pytest.mark.parametrize("kind", ["budgets", "rules", "simulator", "farm-local"])
@settings(max_examples=3)
@given(data=st.data())
def test_cli_exits_0_1_or_2_without_traceback(kind, data):
    EXAMPLES[f"cli:{kind}"] += 1
    strategy = KINDS[kind][0]
    doc = data.draw(strategy)
    if kind == "simulator":  # a valid simulator config would run a simulation: keep it quick
        doc["sim"] = {"model": "A", "trials": float("nan")}
    config = _write(toml_dumps(doc))
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "flint_bench.cli", *_cli_args(kind, config, WORK)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        config.unlink()
    assert proc.returncode in (0, 1, 2), (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr[-2000:]
