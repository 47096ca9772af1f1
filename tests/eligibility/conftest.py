"""Fixtures for the eligibility tests: a hand-built Table 1 log, a fairness log and a CLI runner (a
real subprocess, so exit codes and stderr are the user's)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]

NEW_OS = {"iOS": ("13", "2019-09-19"), "Android": ("11", "2020-09-08")}
OLD_OS = {"iOS": ("12", "2018-09-17"), "Android": ("9", "2018-08-06")}


def _session(device, platform, wifi, battery, os_, hour, *, tier="mid", model=None):
    version, release = os_[platform]
    start = pd.Timestamp("2024-03-04 00:00:00", tz="UTC") + pd.Timedelta(hours=hour)
    return {
        "device_id": device,
        "platform": platform,
        "device_model": model or ("iPhone 11" if platform == "iOS" else "Pixel 4a"),
        "device_tier": tier,
        "os_version": version,
        "os_release_date": release,
        "start": start.isoformat(),
        "end": (start + pd.Timedelta(minutes=10)).isoformat(),
        "wifi": wifi,
        "battery": battery,
        "charging": False,
        "foreground": True,
        "account_age_days": 400,
        "reputation": 0.9,
        "days_since_last_participation": None,
    }


def table1_rows() -> list[dict]:
    """100 devices whose Table 1 shares are known by construction: WiFi 70, battery >= 80 34,
    OS released >= Sept 2019 93, all three at once 22. Nine devices meet WiFi and battery only in
    *different* sessions and three old-OS devices meet WiFi and battery: both must not count in A ∩ B ∩ C."""
    rows, d = [], 0

    def add(n, sessions, os_):
        nonlocal d
        for _ in range(n):
            platform = "iOS" if d % 2 else "Android"
            for h, (wifi, battery) in enumerate(sessions):
                rows.append(_session(d, platform, wifi, battery, os_, 8 + 3 * h))
            d += 1

    add(22, [(True, 90)], NEW_OS)  # A B C together
    add(9, [(True, 50), (False, 85)], NEW_OS)  # A and B, never at once
    add(36, [(True, 40)], NEW_OS)  # A only
    add(26, [(False, 30)], NEW_OS)  # C only
    add(3, [(True, 95)], OLD_OS)  # A and B on an old OS
    add(4, [(False, 20)], OLD_OS)  # nothing
    assert d == 100
    return rows


TABLE1_RULES = """
[[criteria]]
name = "A: connected to WiFi"
field = "wifi"
op = "=="
value = true

[[criteria]]
name = "B: battery >= 80%"
field = "battery"
op = ">="
value = 80

[[criteria]]
name = "C: OS released >= Sept. 2019"
field = "os_release_date"
op = ">="
value = 2019-09-01
"""


@pytest.fixture
def table1_log(tmp_path) -> dict[str, Path]:
    frame = pd.DataFrame(table1_rows())
    csv = tmp_path / "table1.csv"
    frame.to_csv(csv, index=False)
    pq = tmp_path / "table1.parquet"
    typed = frame.assign(
        start=pd.to_datetime(frame["start"]),
        end=pd.to_datetime(frame["end"]),
        os_release_date=pd.to_datetime(frame["os_release_date"]).dt.date,
        days_since_last_participation=frame["days_since_last_participation"].astype(float),
    )
    typed.to_parquet(pq, index=False)
    rules = tmp_path / "table1.toml"
    rules.write_text(TABLE1_RULES)
    return {"csv": csv, "parquet": pq, "rules": rules}


# write, flint and flint_json come from tests/conftest.py
