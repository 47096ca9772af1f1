"""The rough edges a new user met (issue 14), each through the real CLI or the real library."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))


def test_version(cli):
    from flint_bench import __version__

    for flag in ("--version", "-V"):
        code, out, _ = cli(flag)
        assert code == 0 and out.strip() == f"flint-bench {__version__}"


def test_help_texts_are_whole_sentences(cli, monkeypatch):
    """No docstring line break survives into help: the formatter wraps at the terminal's width, so a
    sentence is never cut where the source line ended."""
    import click
    import typer.main

    from flint_bench.cli import app

    def commands(group: click.Command, path: str = ""):
        yield path, group
        for name, sub in getattr(group, "commands", {}).items():
            yield from commands(sub, f"{path} {name}")

    found = list(commands(typer.main.get_command(app)))
    assert len(found) > 15
    for path, command in found:
        for paragraph in (command.help or "").split("\n\n"):
            assert "\n" not in paragraph, f"{path}: {paragraph!r}"
    monkeypatch.setenv("COLUMNS", "250")
    code, out, _ = cli("--help")
    assert code == 0
    # the eligibility docstring's source line ended after "all together, per": now one line
    assert "each criterion's share of devices alone and all together, per sub-population, with fairness warnings" in out
    code, out, _ = cli("eligibility", "--help")
    assert "TOML [[map]]" in out  # rich markup no longer eats the TOML table syntax


def test_simulator_allowed_keys_do_not_show_internal_fields(cli, tmp_path):
    from simulator.helpers import raw_config
    from simulator.test_cli import toml_dump

    raw = raw_config() | {"bogus": {"x": 1}}
    code, _, err = cli("simulate", "--config", toml_dump(raw, tmp_path / "sim.toml"))
    assert code == 2
    allowed = re.search(r"allowed keys are (\[.*?\])", err.replace("\n", " "))
    assert allowed is not None, err
    keys = json.loads(allowed.group(1).replace("'", '"'))
    assert "sim" in keys and "population" in keys and "file" not in keys


def test_profiles_show_prints_a_dash_not_nan(cli, local_results, tmp_path):
    """A figure not measured (model A's CPU on a short run) shows as '-', as in `run`'s table."""
    from flint_bench import api

    built = api.profiles(local_results, tmp_path / "p.parquet").frame
    frame = built.assign(cpu_mean_percent=float("nan"))  # the missing figure, whatever this run measured
    frame.to_parquet(tmp_path / "p.parquet", index=False)
    code, out, _ = cli("profiles", "show", tmp_path / "p.parquet")
    assert code == 0 and "nan" not in out.lower()
    code, out, _ = cli("profiles", "show", tmp_path / "p.parquet", "--format", "json")
    assert all(row["cpu_mean_percent"] is None for row in json.loads(out))


def test_report_names_the_simulated_model_and_says_a_fairness_warning_once(cli, local_results, tmp_path):
    from simulator.helpers import raw_config

    from flint_bench import api

    api.simulate(raw_config("fedavg"), file="sim.toml", out=tmp_path / "sim")
    log = tmp_path / "s.parquet"
    assert cli("sessions", "synth", "--devices", 3000, "--days", 1, "--out", log, "--seed", 2, "--quiet")[0] == 0
    elig = api.eligibility(log, REPO / "configs" / "rules.toml")
    assert elig.document["fairness_warnings"], "the synthetic log must raise a fairness warning for this test"
    (tmp_path / "elig.json").write_text(json.dumps(elig.document))
    for suffix in ("md", "html"):
        out = tmp_path / f"report.{suffix}"
        api.report(local_results, out, eligibility=tmp_path / "elig.json", simulation=tmp_path / "sim")
        text = out.read_text()
        assert re.search(r"Federated training projections \(simulator\) · model A · fedavg", text), suffix
        for w in elig.document["fairness_warnings"]:
            # the report prints the figures itself; the message's copy of them ("(ratio 0.00 < 0.8)") is gone
            assert f"(ratio {w['ratio']:.2f} < " not in text
            assert "under-represents this sub-population" in text


def test_run_failure_line_keeps_the_whole_message(local_results):
    """The run table's line for a failed model carries the message in full (it was cut at 160 characters)."""
    from flint_bench.cli.bench import _record_line
    from flint_bench.core.contract import FailureKind, fail
    from flint_bench.core.results import load_records

    record = load_records(local_results)[0]
    message = (
        "Model 'conv1d': the exported training program does not run: operator aten::convolution_backward is not "
        "supported by ExecuTorch's runtime. Replace that layer (e.g. Conv1d -> Conv2d over (1, L)) and export again."
    )
    failed = fail(json.loads(json.dumps(record)), FailureKind.EXPORT, message)
    line = _record_line(failed)
    assert "Conv1d -> Conv2d over (1, L)) and export again." in line
