"""Synthetic session logs: realistic shape, readable by the eligibility loader, deterministic."""

import numpy as np
import pandas as pd
import pytest

from flint_bench.core.errors import ConfigError, UserError
from flint_bench.eligibility import SessionTable, read_sessions, schema
from flint_bench.eligibility.availability import hourly_active, trough_to_peak
from flint_bench.eligibility.synth import SynthSettings, synth_settings, write_synthetic_log


@pytest.fixture(scope="module")
def synth_log(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "s.parquet"
    summary = write_synthetic_log(SynthSettings(devices=4000, days=7, seed=7, chunk_devices=1500), out)
    return out, summary


def test_schema_and_types(synth_log):
    out, summary = synth_log
    # every column but the device-mapping attributes (SoC, RAM, release year) the catalog does not model
    written = [c for c in schema.COLUMNS if c not in ("soc", "ram_mb", "release_year")]
    frame = read_sessions(out, set(written))
    assert list(frame.columns) == written
    assert len(frame) == summary["sessions"] and frame["device_id"].nunique() == summary["devices_with_sessions"]
    assert (frame["end"] >= frame["start"]).all() and frame["start"].min() >= 0 and frame["end"].max() <= 7 * 86400
    assert frame["battery"].between(1, 100).all() and frame["reputation"].between(0, 1).all()
    assert set(frame["platform"].cat.categories) == {"iOS", "Android"}
    # a device's sessions never overlap (sorted by device, then start)
    same = frame["device_id"].to_numpy()[1:] == frame["device_id"].to_numpy()[:-1]
    assert (frame["start"].to_numpy()[1:][same] >= frame["end"].to_numpy()[:-1][same]).all()


def test_diurnal_troughs_near_15_percent_of_the_weekly_peak(synth_log):
    _, summary = synth_log
    active = np.asarray(summary["hourly_active_sessions"])
    assert 0.10 <= summary["trough_to_peak"] <= 0.22
    by_hour = active.reshape(7, 24).mean(axis=0)
    assert by_hour[2:6].mean() < 0.3 * by_hour[17:22].mean()  # nights are quiet, evenings busy


def test_device_mix_concentrated_ios_long_tail_android(synth_log):
    out, _ = synth_log
    f = pd.read_parquet(out, columns=["device_id", "platform", "device_model"]).drop_duplicates("device_id")
    ios = f[f["platform"] == "iOS"]["device_model"].value_counts(normalize=True)
    android = f[f["platform"] == "Android"]["device_model"].value_counts(normalize=True)
    assert ios.iloc[:5].sum() > 0.45 and ios.iloc[:10].sum() > 0.75 and ios[ios > 0].size <= 20
    assert android[android > 0].size > 200 and android.iloc[:5].sum() < 0.35
    assert 0.38 < (f["platform"] == "iOS").mean() < 0.52


def test_tail_heavy_sessions_and_plausible_states(synth_log):
    out, summary = synth_log
    f = read_sessions(out, {"session_seconds", "wifi", "battery", "charging", "foreground", "os_release_date"})
    per_device = f.groupby("device_id").size()
    length = f["end"] - f["start"]
    assert summary["session_seconds_p99"] > 10 * summary["session_seconds_p50"]
    assert length.mean() > 1.5 * length.median()
    assert 0.5 < f["wifi"].mean() < 0.85 and 0.15 < (f["battery"] >= 80).mean() < 0.45
    assert 0.05 < f["charging"].mean() < 0.5 and f["foreground"].mean() > 0.6
    assert 0.85 < (f["os_release_date"] >= np.datetime64("2019-09-01")).mean() < 0.98
    assert per_device.quantile(0.99) > 4 * per_device.median()  # heavy users


def test_same_seed_same_log(tmp_path):
    a = write_synthetic_log(SynthSettings(devices=300, days=2, seed=3), tmp_path / "a.parquet")
    b = write_synthetic_log(SynthSettings(devices=300, days=2, seed=3), tmp_path / "b.csv")
    pa_, pb = read_sessions(tmp_path / "a.parquet", {"wifi", "battery"}), read_sessions(tmp_path / "b.csv", {"wifi", "battery"})
    assert (
        a["sessions"] == b["sessions"]
        and np.array_equal(pa_["battery"], pb["battery"])
        and np.allclose(pa_["start"], pb["start"])
    )
    assert SessionTable.from_frame(pb).n_devices == pb["device_id"].nunique()


def test_trough_helpers():
    active = hourly_active(np.array([0.0, 3600.0, 7000.0]), np.array([10.0, 3700.0, 7300.0]), 48)
    assert active[:3].tolist() == [1, 2, 1] and active[3:].sum() == 0
    assert trough_to_peak(np.tile(np.r_[np.full(12, 15), np.full(12, 100)], 2)) == 0.15


def test_cli_synth_json(tmp_path, flint_json):
    doc = flint_json("sessions", "synth", "--devices", 500, "--days", 2, "--out", tmp_path / "x.parquet", "--seed", 1)
    assert doc["devices"] == 500 and doc["sessions"] > 500 and (tmp_path / "x.parquet").is_file()


@pytest.mark.parametrize(
    "options, key",
    [({"ios_share": 1.5}, "ios_share"), ({"devices": 0}, "devices"), ({"sessions_per_day": 0.0}, "sessions_per_day")],
)
def test_synth_settings_constraints_are_declared(options, key):
    with pytest.raises(ConfigError) as e:
        synth_settings(**options)
    assert e.value.key == key


def test_synth_settings_parse_the_start_date():
    assert synth_settings(start="2024-02-29").start.isoformat() == "2024-02-29"
    with pytest.raises(UserError, match="--start"):
        synth_settings(start="Feb 29")
