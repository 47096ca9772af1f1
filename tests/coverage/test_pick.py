"""Greedy cover over a small catalog: platform, tier, OS major, SoC family, and exact models."""

import pytest

from flint_bench.core.errors import UserError
from flint_bench.coverage import pick_devices
from flint_bench.farms.base import Device

from .conftest import sessions_frame


def _log():
    return sessions_frame(
        [
            ("Pixel 7", "Android", "high", "14", 10),
            ("Galaxy S23", "Android", "high", "14", 6),
            ("Galaxy A14", "Android", "low", "13", 8),
            ("Galaxy A10", "Android", "low", "11", 3),
            ("iPhone 13", "iOS", "mid", "17", 5),
        ]
    )


def test_greedy_cover_picks_the_biggest_gain_first_and_respects_os_and_tier():
    catalog = [
        Device("a10", "f", model="Galaxy A10", os="Android", os_version="11"),  # no tier: the log's tier of its model (low)
        Device("hi14", "f", model="Pixel 8", os="Android", os_version="14", tier="high"),
        Device("lo13", "f", model="Moto E", os="Android", os_version="13", tier="low"),
        Device("ip", "f", model="iPhone 13", os="iOS", os_version="17"),  # exact model
        Device("hi-dup", "f", model="Pixel 8 Pro", os="Android", os_version="14", tier="high"),
    ]
    steps = pick_devices(_log(), catalog, count=5)
    assert [s.device.id for s in steps] == ["hi14", "lo13", "ip", "a10"]  # hi-dup adds nothing: not picked
    assert [s.sessions_added_share for s in steps] == pytest.approx([16 / 32, 8 / 32, 5 / 32, 3 / 32])
    assert steps[-1].cumulative_share == pytest.approx(1.0) and steps[-1].cumulative_device_share == pytest.approx(1.0)
    assert [s.device.id for s in pick_devices(_log(), catalog, count=2)] == ["hi14", "lo13"]


def test_a_device_of_unknown_tier_and_model_covers_nothing_and_count_is_checked():
    assert pick_devices(_log(), [Device("x", "f", model="Unknown", os="Android", os_version="14")], count=1) == []
    with pytest.raises(UserError):
        pick_devices(_log(), [], count=0)
