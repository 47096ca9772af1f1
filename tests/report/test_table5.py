"""Table 5: one declared field list shared by the typed row, its JSON and every table."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from records_synth import farm_like

from flint_bench.report.table5 import FIELD, FIELDS, RUN_SUMMARY, Table5Row, headers, human_params, table5


def test_the_field_list_is_the_row():
    assert [f.name for f in dataclasses.fields(Table5Row)] == [f.key for f in FIELDS]
    assert set(RUN_SUMMARY) <= set(FIELD)
    assert headers(["storage_mb", "mean_s_per_5000", "mean_cpu_percent", "mean_cpu_core_percent"]) == [
        "storage MB",
        "mean s / 5000",
        "CPU % of device",
        "CPU % of one core",
    ]
    assert headers(["std_s_per_5000", "std_repeats_s_per_5000", "network_mb", "program_download_mb"]) == [
        "stdev across devices s",
        "stdev across repeats s",
        "network per task MB",
        "program download MB",
    ]


def test_rows_from_records(real_records):
    records = farm_like(real_records)  # every model on 2 devices; the last model also failed on a third
    rows = table5(records)
    assert [r.model for r in rows] == sorted({r["model"]["name"] for r in records})
    for row in rows:
        mine = [r for r in records if r["model"]["name"] == row.model]
        ok = [r for r in mine if r["status"] == "ok"]
        assert row.storage_mb == pytest.approx(mine[0]["model"]["storage_bytes"] / 1e6)
        values = [v for r in ok for v in r["timing"]["seconds_per_5000"]["values"]]
        assert row.mean_s_per_5000 == pytest.approx(np.mean(values))
        means = [r["timing"]["seconds_per_5000"]["mean"] for r in ok]
        assert (row.device_min_s, row.device_max_s) == (min(means), max(means))
        assert row.devices_ok == len(ok) and row.devices_failed == len(mine) - len(ok)
        assert list(row.as_dict()) == [f.key for f in FIELDS]
        cells = row.cells(RUN_SUMMARY)
        assert len(cells) == len(headers(RUN_SUMMARY)) and cells[1] == human_params(row.trainable_params)
    assert rows[-1].devices_failed == 1


def test_missing_figures_show_as_a_dash():
    assert FIELD["storage_mb"].text(None) == "-" and FIELD["storage_mb"].text(0.51234) == "0.512"
    assert human_params(None) == "-" and human_params(1234) == "1.23k" and human_params(56_789) == "57k"


def test_the_papers_meanings(real_records):
    """Network = one FL task (2 x trainable float32 bytes), the program download apart; CPU as a share
    of the device beside % of one core; stdev across devices (the paper's) and across repeats."""
    records = farm_like(real_records)
    for row in table5(records):
        ok = [r for r in records if r["model"]["name"] == row.model and r["status"] == "ok"]
        trainable = ok[0]["model"]["trainable_params"]
        assert row.network_mb == pytest.approx(2 * 4 * trainable / 1e6)
        assert row.program_download_mb == pytest.approx(ok[0]["model"]["storage_bytes"] / 1e6)
        # set here: a 64-example fixture run can be too short for the CPU clock to resolve
        for r, core in zip(ok, (180.0, 90.0), strict=True):
            r["cpu"]["mean_percent"] = core
        (row,) = table5(ok)
        assert row.mean_cpu_core_percent == pytest.approx(135.0)
        assert row.mean_cpu_percent == pytest.approx(np.mean([180.0 / r["device"]["cores"], 90.0 / r["device"]["cores"]]))
        means = [np.mean(r["timing"]["seconds_per_5000"]["values"]) for r in ok]
        assert row.std_s_per_5000 == pytest.approx(np.std(means, ddof=1))  # over the 2 devices' means
        repeat_stds = [np.std(r["timing"]["seconds_per_5000"]["values"], ddof=1) for r in ok]
        assert row.std_repeats_s_per_5000 == pytest.approx(np.mean(repeat_stds))


def test_one_device_has_no_spread_across_devices(real_records):
    (row, *_) = table5(real_records[:1])
    assert row.std_s_per_5000 is None and row.std_repeats_s_per_5000 is not None and FIELD["std_s_per_5000"].text(None) == "-"
