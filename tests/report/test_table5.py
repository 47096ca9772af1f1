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
    assert headers(["storage_mb", "mean_s_per_5000", "mean_cpu_percent"]) == ["storage MB", "mean s / 5000", "mean CPU %"]


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
