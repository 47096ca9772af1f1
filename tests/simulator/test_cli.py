"""`flint-bench simulate` end to end: bad configs exit 2 naming the key, JSON output, outputs, kill -9 + --resume, ray."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from .helpers import raw_config

BIN = str(Path(sys.executable).parent / "flint-bench")


def toml_dump(data: dict, path: Path) -> Path:
    """A minimal TOML writer for the nested test configs (tables, arrays of tables, inline tables)."""

    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return repr(v)

    lines = []

    def key(k):
        return json.dumps(k) if "." in k else k

    def table(prefix, d):
        scalars = {
            k: v for k, v in d.items() if not isinstance(v, dict) and not (isinstance(v, list) and v and isinstance(v[0], dict))
        }
        lines.append(f"[{prefix}]")
        lines.extend(f"{key(k)} = {value(v)}" for k, v in scalars.items())
        for k, v in d.items():
            if isinstance(v, dict) and k not in scalars:
                table(f"{prefix}.{k}", v)
            elif isinstance(v, list) and v and isinstance(v[0], dict):
                for item in v:
                    lines.append(f"[[{prefix}.{k}]]")
                    lines.extend(f"{ik} = {value(iv)}" for ik, iv in item.items())

    for name, d in data.items():
        table(name, d)
    path.write_text("\n".join(lines) + "\n")
    assert tomllib.loads(path.read_text()) == data
    return path


def cli(*args: str, timeout: float = 120, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([BIN, "simulate", *args], capture_output=True, text=True, timeout=timeout, env=env)


@pytest.mark.parametrize(
    "change, key",
    [
        ({"sim": {"mode": "fedsgd"}}, "sim.mode"),
        ({"fedbuff": {"concurrency": 5, "buffer": 10}}, "fedbuff.buffer"),
        ({"fedavg": {"cohort": 0}}, "fedavg.cohort"),
        ({"sim": {"mode": "fedavg"}, "fedavg": {"cohort": 400}}, "fedavg.cohort"),
        ({"proxy": {"client": 5}}, "proxy.client"),
        ({"sim": {"model": "Z"}}, "sim.model"),
    ],
)
def test_bad_config_exits_2_naming_the_key(tmp_path, change, key):
    raw = raw_config()
    for section, values in change.items():
        raw[section] = {**raw[section], **values}
    r = cli("--config", str(toml_dump(raw, tmp_path / "bad.toml")))
    assert r.returncode == 2, r.stderr
    assert f"'{key}'" in r.stderr and "bad.toml" in r.stderr
    assert "Traceback" not in r.stderr


def test_missing_profile_exits_2(tmp_path):
    import pandas as pd

    profiles = tmp_path / "profiles.parquet"
    pd.DataFrame(
        {
            "device_model": ["Pixel 7"],
            "os": ["android-14"],
            "os_version": ["14"],
            "model": ["B"],
            "per_example_s_quantiles": [[0.001 * (1 + i / 100) for i in range(101)]],
            "peak_memory_mb": [10.0],
            "storage_bytes": [1_000_000],
            "update_bytes": [756_000],
        }
    ).to_parquet(profiles)
    raw = raw_config()
    raw["population"] = {**raw["population"], "profiles": str(profiles)}
    r = cli("--config", str(toml_dump(raw, tmp_path / "sim.toml")))
    assert r.returncode == 2
    assert "'population.profiles'" in r.stderr and "model 'A'" in r.stderr and "Traceback" not in r.stderr
    # the same file with a row for model A is used: device class names come from the profile rows
    pd.DataFrame(
        {
            "device_model": ["Pixel 7", "Galaxy A10"],
            "os": ["android-14", "android-11"],
            "os_version": ["14", "11"],
            "model": ["A", "A"],
            "per_example_s_quantiles": [[0.001] * 101, [0.004] * 101],
            "peak_memory_mb": [10.0, 12.0],
            "storage_bytes": [1_000_000, 1_000_000],
            "update_bytes": [6_000, 6_000],
        }
    ).to_parquet(profiles)
    r = cli("--config", str(toml_dump(raw, tmp_path / "sim.toml")), "--format", "json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["device_classes"] == ["Pixel 7/android-14", "Galaxy A10/android-11"]
    assert summary["update_bytes"] == 6000


def test_json_summary_and_outputs(tmp_path):
    import pandas as pd

    raw = raw_config("fedavg", sim={"train": True, "trials": 2, "max_aggregations": 6, "eval_every": 3})
    out = tmp_path / "out"
    r = cli("--config", str(toml_dump(raw, tmp_path / "sim.toml")), "--out", str(out), "--format", "json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)  # stdout is one JSON document
    assert summary == json.loads((out / "summary.json").read_text())
    m = summary["metrics"]
    assert m["aggregations"] == {"median": 6.0, "min": 6.0, "max": 6.0, "n": 2}
    assert m["tasks_started"]["median"] >= m["tasks_succeeded"]["median"] == 60
    assert 0 < m["final_metric"]["min"] <= 1
    assert summary["config"]["sim"]["mode"] == "fedavg"
    rows = pd.read_parquet(out / "metrics.parquet")
    assert sorted(rows["trial"].unique()) == [0, 1]
    assert list(rows[rows.trial == 0]["aggregation"]) == [0, 3, 6]
    assert {"virtual_time_s", "round", "metric", "loss", "tasks_started", "tasks_stale"} <= set(rows.columns)
    assert json.loads((out / "proxy_metadata.json").read_text())["population"]["clients"] == 400


def test_kill_9_then_resume_equals_uninterrupted(tmp_path):
    from flint_bench.simulator import experiment
    from flint_bench.simulator.config import parse

    raw = raw_config(
        "fedbuff",
        sim={"train": True, "trials": 2, "max_aggregations": 120, "eval_every": 1, "checkpoint_every": 1},
        population={"classes": [{"name": "t", "per_example_s": {"median": 1.0, "sigma": 1.0}}]},
    )
    cfg_file = toml_dump(raw, tmp_path / "sim.toml")
    out = tmp_path / "killed"
    proc = subprocess.Popen(
        [BIN, "simulate", "--config", str(cfg_file), "--out", str(out), "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.time() + 90
        while not (out / "checkpoint.npz").exists():
            assert proc.poll() is None, proc.stderr.read()
            assert time.time() < deadline
            time.sleep(0.02)
        time.sleep(0.5)  # let it get a few aggregations further
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "summary.json").exists(), "the run finished before the kill; make the test workload longer"
    r = cli("--resume", str(out), "--format", "json")
    assert r.returncode == 0, r.stderr
    resumed = json.loads(r.stdout)["per_trial"]

    reference = experiment.run(parse(tomllib.loads(cfg_file.read_text()), cfg_file), {}, None).summary["per_trial"]
    keys = [
        "virtual_hours",
        "aggregations",
        "tasks_started",
        "tasks_succeeded",
        "tasks_interrupted",
        "tasks_stale",
        "client_compute_hours",
        "final_metric",
        "final_loss",
    ]
    for got, want in zip(resumed, reference, strict=True):
        assert {k: got[k] for k in keys} == pytest.approx({k: want[k] for k in keys}, rel=1e-6)


def test_ray_backend_equals_local(tmp_path):
    pytest.importorskip("ray", reason="ray is not installed (pip install 'flint-bench[ray]')")
    raw = raw_config(
        "fedbuff",
        sim={"train": True, "max_aggregations": 8, "eval_every": 4, "executors": 2},
        population={"classes": [{"name": "t", "per_example_s": {"median": 1.0, "sigma": 1.0}}]},
    )
    cfg_file = toml_dump(raw, tmp_path / "sim.toml")
    results = {}
    for backend in ("local", "ray"):
        r = cli("--config", str(cfg_file), "--backend", backend, "--format", "json", timeout=300)
        assert r.returncode == 0, r.stderr
        results[backend] = json.loads(r.stdout)
    assert results["ray"]["backend"] == "ray"
    for key in ("virtual_hours", "tasks_started", "tasks_stale", "aggregations"):
        assert results["ray"]["metrics"][key] == results["local"]["metrics"][key]
    for key in ("final_metric", "final_loss"):
        assert results["ray"]["metrics"][key]["median"] == pytest.approx(results["local"]["metrics"][key]["median"], rel=1e-5)


def test_sweep_grid_writes_one_row_per_combination(tmp_path):
    import pandas as pd

    raw = raw_config("fedbuff", sim={"max_aggregations": 10})
    raw["sweep"] = {"fedbuff.buffer": [2, 10], "fedbuff.max_staleness": [0, 5]}
    out = tmp_path / "sweep"
    r = cli("--config", str(toml_dump(raw, tmp_path / "sim.toml")), "--sweep", "--out", str(out), "--format", "json")
    assert r.returncode == 0, r.stderr
    results = json.loads(r.stdout)["sweep"]
    assert [x["params"] for x in results] == [{"fedbuff.buffer": b, "fedbuff.max_staleness": s} for b in (2, 10) for s in (0, 5)]
    table = pd.read_parquet(out / "sweep.parquet")
    assert len(table) == 4 and {"param.fedbuff.buffer", "seconds_per_aggregation", "tasks_stale"} <= set(table.columns)
    # a bigger buffer takes longer to fill (Figure 7)
    by_buffer = table.groupby("param.fedbuff.buffer")["seconds_per_aggregation"].mean()
    assert by_buffer[10] > 1.5 * by_buffer[2]
    assert (out / "sweep-003" / "metrics.parquet").is_file()
    # a combination that is invalid (buffer > concurrency) fails before anything runs, naming the key
    raw["sweep"] = {"fedbuff.buffer": [2, 50]}
    r = cli("--config", str(toml_dump(raw, tmp_path / "sim.toml")), "--sweep")
    assert r.returncode == 2 and "'fedbuff.buffer'" in r.stderr


def test_resume_without_checkpoint_exits_2(tmp_path):
    r = cli("--resume", str(tmp_path))
    assert r.returncode == 2 and "config.json" in r.stderr and "Traceback" not in r.stderr
    raw = raw_config()
    r = cli("--config", str(toml_dump(raw, tmp_path / "sim.toml")), "--resume", str(tmp_path / "nothing"))
    assert r.returncode == 2 and "checkpoint.npz" in r.stderr


def test_errors_with_format_json_are_one_json_document_on_stdout(tmp_path):
    raw = raw_config()
    raw["fedavg"] = {**raw["fedavg"], "cohort": 0}
    r = cli("--config", str(toml_dump(raw, tmp_path / "bad.toml")), "--format", "json")
    assert r.returncode == 2
    error = json.loads(r.stdout)["error"]
    assert error["kind"] == "ConfigError" and error["exit_code"] == 2 and "'fedavg.cohort'" in error["message"]
