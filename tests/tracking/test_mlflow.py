"""--mlflow against a real MLflow tracking server on loopback, read back through MlflowClient."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from flint_bench import api
from flint_bench.core.contract import SCHEMA_VERSION, host_commit
from flint_bench.core.errors import UserError

REPO = Path(__file__).resolve().parents[2]


def runs(uri: str, experiment: str) -> tuple[object, list]:
    """(the command's parent run, its nested runs) of the test's experiment."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    found = client.search_runs([client.get_experiment_by_name(experiment).experiment_id], max_results=1000)
    parents = [r for r in found if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1, [r.info.run_name for r in found]
    children = [r for r in found if r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id]
    assert len(children) == len(found) - 1
    return parents[0], children


def artifact(uri: str, run_id: str, name: str, tmp_path: Path) -> str:
    from mlflow.tracking import MlflowClient

    tmp_path.mkdir(parents=True, exist_ok=True)
    return Path(MlflowClient(uri).download_artifacts(run_id, name, str(tmp_path))).read_text()


def test_run_logs_table5_per_model_and_a_nested_run_per_device(tracking, tmp_path, monkeypatch):
    out = tmp_path / "results"
    result = api.run(["A"], REPO / "farm_configs" / "local.toml", out=out, examples=64, repeats=2, warmup_steps=1, mlflow=True)
    parent, children = runs(tracking, _experiment())
    assert parent.info.status == "FINISHED" and parent.data.params["farm"] == "local"
    assert parent.data.params["settings.examples"] == "64" and json.loads(parent.data.params["models"]) == ["A"]
    row = result.summary.set_index("model").loc["A"]
    assert parent.data.metrics["A.mean_s_per_5000"] == pytest.approx(row["mean_s_per_5000"])
    tags = parent.data.tags
    assert tags["flint_bench.command"] == "run" and tags["flint_bench.schema_version"] == SCHEMA_VERSION
    assert tags.get("flint_bench.commit") == host_commit()
    assert [c.data.params["device"] for c in children] == [r["device"]["id"] for r in result.records]
    child, record = children[0], result.records[0]
    assert child.data.tags["status"] == "ok" and child.data.params["model"] == "A"
    assert child.data.metrics["per_example_s_mean"] == pytest.approx(record["timing"]["per_example_seconds"]["mean"])
    assert json.loads(artifact(tracking, child.info.run_id, "record.json", tmp_path)) == record


def test_simulate_logs_the_config_summary_and_each_trials_curve_over_virtual_time(tracking, tmp_path):
    sys.path.insert(0, str(REPO / "tests"))
    from simulator.helpers import raw_config

    raw = raw_config("fedavg", sim={"trials": 2})
    result = api.simulate(raw, file="sim.toml", out=tmp_path / "sim", mlflow=True)
    parent, children = runs(tracking, _experiment())
    assert parent.data.params["config.fedavg.cohort"] == "10" and parent.data.params["model"] == "A"
    metrics = result.summary["metrics"]
    assert parent.data.metrics["aggregations.median"] == metrics["aggregations"]["median"]
    assert json.loads(artifact(tracking, parent.info.run_id, "summary.json", tmp_path)) == json.loads(json.dumps(result.summary))
    assert sorted(c.info.run_name for c in children) == ["trial 0", "trial 1"]
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking)
    for child in children:
        trial = int(child.info.run_name.split()[-1])
        rows = [r for r in result.rows if r["trial"] == trial]
        history = sorted(client.get_metric_history(child.info.run_id, "curve.tasks_started"), key=lambda m: m.step)
        assert len(rows) > 2 and [m.step for m in history] == [round(r["virtual_time_s"]) for r in rows]
        assert [m.value for m in history] == [r["tasks_started"] for r in rows]
        per_trial = result.summary["per_trial"][trial]
        assert child.data.metrics["aggregations"] == per_trial["aggregations"]


def test_gate_logs_the_verdict_its_figures_and_outputs_and_no_secret(tracking, tmp_path, monkeypatch, local_results, capsys):
    """A password in the tracking URI and a farm key in the environment never reach params, tags or artifacts."""
    secret, key = "pw-Zq81xx", "sauce-key-73fa"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking.replace("http://", f"http://flint:{secret}@"))
    monkeypatch.setenv("SAUCE_ACCESS_KEY", key)
    head = tmp_path / key / "head"  # the key in a path that is logged as a param
    shutil.copytree(local_results, head)
    files = api.GateFiles(junit=tmp_path / "junit.xml", markdown=tmp_path / "gate.md")
    gate_run = api.gate(head, local_results, files=files, mlflow=True)
    shown = capsys.readouterr()
    assert secret not in shown.out + shown.err  # MLflow's own "View run at <uri>" line is not printed
    parent, children = runs(tracking, _experiment())
    assert not children and parent.data.tags["verdict"] == ("passed" if gate_run.result.passed else "failed")
    assert parent.data.metrics["checks"] == len(gate_run.result.cases) > 0
    assert parent.data.metrics["passed"] == int(gate_run.result.passed)
    assert parent.data.params["head"] == str(head).replace(key, "***")
    names = set(parent.data.metrics)
    assert any(n.endswith(".ratio") for n in names), sorted(names)[:20]
    texts = [artifact(tracking, parent.info.run_id, n, tmp_path / "down" / n) for n in ("gate.json", "junit.xml", "gate.md")]
    assert json.loads(texts[0])["cases"]
    everything = json.dumps([parent.data.params, parent.data.tags, texts])
    assert secret not in everything and key not in everything


def test_assess_logs_a_nested_run_per_decision_and_the_decision_files(tracking, tmp_path, local_results):
    sys.path.insert(0, str(REPO / "tests"))
    from assess.conftest import BUDGETS, CONFIG, RULES

    (tmp_path / "rules.toml").write_text(RULES.format(battery=50))
    (tmp_path / "budgets.toml").write_text(BUDGETS.format(storage=10.0))
    config = tmp_path / "assess.toml"
    config.write_text(CONFIG.format(results=local_results, extra=""))
    result = api.assess(config, tmp_path / "out", mlflow=True)
    parent, children = runs(tracking, _experiment())
    decisions = result.decision["decisions"]
    assert sorted(c.info.run_name for c in children) == sorted(f"{d['model']} / {d['target']}" for d in decisions)
    child = children[0]
    d = next(d for d in decisions if f"{d['model']} / {d['target']}" == child.info.run_name)
    assert child.data.tags["verdict"] == d["verdict"]
    assert child.data.metrics["deployable_session_share"] == d["deployable_session_share"]
    assert json.loads(artifact(tracking, parent.info.run_id, "decision.json", tmp_path))["decisions"] == decisions
    assert "<html" in artifact(tracking, parent.info.run_id, "report.html", tmp_path / "r").lower()


def test_without_a_tracking_uri_or_the_client_the_error_says_what_to_do(monkeypatch, tmp_path):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    with pytest.raises(UserError, match="set MLFLOW_TRACKING_URI"):
        api.gate(tmp_path, mlflow=True)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as when the extra is not installed
    monkeypatch.setitem(sys.modules, "mlflow.tracking", None)
    with pytest.raises(UserError, match=r"pip install 'flint-bench\[mlflow\]'"):
        api.gate(tmp_path, mlflow=True)


def _experiment() -> str:
    import os

    return os.environ["MLFLOW_EXPERIMENT_NAME"]


def test_cli_flag_keeps_stdout_one_json_document_and_says_where_the_run_went(tracking, cli, local_results, tmp_path):
    code, out, err = cli("gate", "--head", local_results, "--base", local_results, "--mlflow", "--format", "json")
    assert code in (0, 1) and "passed" in json.loads(out)  # nothing of MLflow's on stdout
    parent, _ = runs(tracking, _experiment())
    assert parent.data.tags["flint_bench.command"] == "gate"

    sys.path.insert(0, str(REPO / "tests"))
    from simulator.helpers import raw_config
    from simulator.test_cli import toml_dump

    config = toml_dump(raw_config("fedavg"), tmp_path / "sim.toml")
    code, out, err = cli("simulate", "--config", config, "--mlflow")
    assert code == 0, err
    runs_here = _runs_by_command(tracking)
    assert set(runs_here) == {"gate", "simulate"}
    assert f"mlflow: run {runs_here['simulate']} with 1 nested run(s) in experiment {_experiment()} at {tracking}" in " ".join(
        err.split()
    )


def _runs_by_command(uri: str) -> dict[str, str]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    found = client.search_runs([client.get_experiment_by_name(_experiment()).experiment_id])
    return {r.data.tags["flint_bench.command"]: r.info.run_id for r in found if "mlflow.parentRunId" not in r.data.tags}


def test_sweep_logs_a_nested_run_per_combination(tracking, tmp_path):
    sys.path.insert(0, str(REPO / "tests"))
    from simulator.helpers import raw_config

    raw = raw_config("fedbuff", sim={"max_aggregations": 10})
    raw["sweep"] = {"fedbuff.buffer": [2, 10]}
    result = api.simulate(raw, file="sim.toml", sweep=True, mlflow=True)
    parent, children = runs(tracking, _experiment())
    assert json.loads(parent.data.params["swept"]) == ["fedbuff.buffer"] and parent.data.metrics["combinations"] == 2
    by_buffer = {c.data.params["fedbuff.buffer"]: c for c in children}
    assert set(by_buffer) == {"2", "10"}
    for row in result.rows:
        child = by_buffer[str(row["params"]["fedbuff.buffer"])]
        assert child.data.metrics["seconds_per_aggregation"] == pytest.approx(row["seconds_per_aggregation"])


@pytest.mark.parametrize(
    "uri, secret",
    [("http://flint:pw-91@127.0.0.1:5000", "pw-91"), ("https://tok-8a7f@mlflow.example/api", "tok-8a7f")],
)
def test_the_uri_shown_and_logged_hides_its_secret(uri, secret, monkeypatch):
    from flint_bench.tracking.mlflow import redactor_for, shown_uri

    assert secret not in shown_uri(uri) and "***" in shown_uri(uri)
    assert secret not in redactor_for(uri)(f"out=/runs/{secret}/x uri={uri}")
    assert shown_uri("http://127.0.0.1:5000") == "http://127.0.0.1:5000"
