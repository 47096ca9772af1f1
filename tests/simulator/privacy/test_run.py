"""DP and SecAgg in real simulator runs (model A, a tiny population): config checks, the per-client
path, the noise's seeding, ε in the summary, SecAgg's time in the task durations."""

from __future__ import annotations

import pytest

from flint_bench.core.errors import ConfigError
from flint_bench.simulator.config import parse
from flint_bench.simulator.experiment import simulate
from flint_bench.simulator.population import mbit_to_bytes_per_s
from tests.simulator.helpers import raw_config

pytest.importorskip("dp_accounting")

TRAIN = {"train": True, "max_aggregations": 6, "eval_every": 3, "executors": 1, "client_lr": 0.3}


def _run(raw):
    return simulate(raw, "test.toml").summary


def test_config_constraints_name_the_key():
    with pytest.raises(ConfigError, match=r"privacy\.dp\.noise_multiplier"):
        parse(raw_config(privacy={"dp": {"noise_multiplier": -1.0}}), "t.toml")
    with pytest.raises(ConfigError, match=r"privacy\.dp\.delta"):
        parse(raw_config(privacy={"dp": {"delta": 1.0}}), "t.toml")
    with pytest.raises(ConfigError, match=r"privacy\.dp\.mode"):
        parse(raw_config(privacy={"dp": {"mode": "shuffled"}}), "t.toml")
    with pytest.raises(ConfigError, match=r"privacy\.secagg\.threshold"):
        parse(raw_config(privacy={"secagg": {"threshold": 0.5}}), "t.toml")


def test_secagg_fits_the_mode():
    with pytest.raises(ConfigError, match=r"privacy\.secagg\.protocol.*tee"):
        _run(raw_config("fedbuff", privacy={"secagg": {"protocol": "bonawitz"}}))
    # cohort 10 of 13 selected: t = ceil(0.9·13) = 12 survivors cannot come from 10 aggregated updates
    with pytest.raises(ConfigError, match=r"privacy\.secagg\.threshold"):
        _run(raw_config("fedavg", privacy={"secagg": {"threshold": 0.9}}))


def test_fedbuff_dp_without_noise_or_clipping_is_plain_fedbuff():
    # FedBuff keeps its staleness weights under DP: with z = 0 and a clip no delta reaches, the
    # per-client path must give the model the summed path gives
    plain = _run(raw_config("fedbuff", sim=TRAIN))
    dp = _run(raw_config("fedbuff", sim=TRAIN, privacy={"dp": {"noise_multiplier": 0.0, "clip_norm": 1e6}}))
    assert dp["metrics"]["final_loss"]["median"] == pytest.approx(plain["metrics"]["final_loss"]["median"], rel=1e-4)
    assert dp["per_trial"][0]["privacy"]["dp"]["epsilon"] is None  # no noise: no guarantee
    assert plain["per_trial"][0]["privacy"] == {"dp": None, "secagg": None}


def test_noise_changes_the_model_is_seeded_and_accounted():
    raw = raw_config("fedavg", sim=TRAIN, privacy={"dp": {"noise_multiplier": 1.0, "clip_norm": 0.1}})
    a, b = _run(raw), _run(raw)
    clean = _run(raw_config("fedavg", sim=TRAIN, privacy={"dp": {"noise_multiplier": 0.0, "clip_norm": 0.1}}))
    assert a["metrics"]["final_loss"] == b["metrics"]["final_loss"]  # the same seed draws the same noise
    assert a["metrics"]["final_loss"]["median"] != pytest.approx(clean["metrics"]["final_loss"]["median"], rel=1e-6)
    fig = a["per_trial"][0]["privacy"]["dp"]
    assert (fig["steps"], fig["sample_size"], fig["population"]) == (6, 10, 400)
    assert fig["epsilon"] > 0 and a["metrics"]["epsilon"]["median"] == fig["epsilon"]


def test_local_mode_reports_per_update_and_server_side_epsilon():
    s = _run(raw_config("fedavg", sim=TRAIN, privacy={"dp": {"noise_multiplier": 1.0, "mode": "local"}}))
    fig = s["per_trial"][0]["privacy"]["dp"]
    assert fig["server_noise_multiplier"] == pytest.approx(10**0.5)  # 10 uniform weights: z·sqrt(10)
    assert fig["epsilon_local_per_update"] > fig["epsilon"] > 0


def test_secagg_time_enters_every_task():
    # always-available devices, constant compute, 100 Mbit/s: every FedAvg round lasts one task, so
    # SecAgg lengthens each round by its extra bytes over the bandwidth plus its extra seconds
    plain = _run(raw_config("fedavg"))
    sec = _run(raw_config("fedavg", privacy={"secagg": {"protocol": "bonawitz", "rtt_s": 0.2}}))
    cost = sec["secagg"]
    extra_bytes = cost["upload_extra_bytes"] + cost["download_extra_bytes"]
    expected = extra_bytes / float(mbit_to_bytes_per_s(100.0)) + cost["task_extra_s"]
    assert cost["task_extra_s"] == pytest.approx(3 * 0.2 + cost["client_prg_bytes"] / 1e9)
    per_agg = [s["metrics"]["seconds_per_aggregation"]["median"] for s in (plain, sec)]
    assert per_agg[1] - per_agg[0] == pytest.approx(expected, rel=1e-6)
    assert sec["metrics"]["secagg_aggregator_busy_share"]["median"] > 0
    assert sec["update_bytes"] == pytest.approx(plain["update_bytes"] + extra_bytes / 2)  # the bytes each way


def test_fedbuff_with_tee_secagg_and_dp():
    # the paper's section 3.6 combination: DP-FedBuff with buffered SecAgg in an enclave
    privacy = {"dp": {"noise_multiplier": 1.0}, "secagg": {"protocol": "tee"}}
    plain = _run(raw_config("fedbuff", sim=TRAIN))
    s = _run(raw_config("fedbuff", sim=TRAIN, privacy=privacy))
    cost = s["secagg"]
    assert (cost["n"], cost["dropout_tolerance"], cost["round_trips"]) == (10, None, 1)  # one buffer of 10
    assert s["per_trial"][0]["privacy"]["dp"]["sample_size"] == 10 and s["metrics"]["epsilon"]["median"] > 0
    hours = [x["metrics"]["virtual_hours"]["median"] for x in (plain, s)]
    assert hours[1] > hours[0]  # the attestation round trip and the masks make every task longer


@pytest.mark.parametrize("name", ["sim-dp.toml", "sim-sweep-dp-fedbuff.toml"])
def test_shipped_dp_configs_parse_in_every_combination(name):
    from pathlib import Path

    from flint_bench.core.config import read_toml
    from flint_bench.simulator.config import sweep_grid, with_overrides
    from flint_bench.simulator.strategies import strategy_for

    path = Path(__file__).parents[3] / "configs" / name
    raw = read_toml(path)
    for combo in sweep_grid(raw, path):
        cfg = parse(with_overrides({k: v for k, v in raw.items() if k != "sweep"}, combo), path)
        assert cfg.privacy.dp is not None and cfg.privacy.secagg is not None
        strategy_for(cfg)  # the SecAgg protocol fits the mode and the cohort
