"""Fixtures for the device-coverage tests: a hand-built session log and profile tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flint_bench.eligibility import normalise
from flint_bench.profiles.build import COLUMNS


def sessions_frame(devices: list[tuple[str, str, str | None, str, int]], **extra: list) -> pd.DataFrame:
    """(device_model, platform, tier, os_version, sessions) per device -> a normalised session log."""
    rows = []
    for i, (model, platform, tier, os_version, n) in enumerate(devices):
        for k in range(n):
            row = {"device_id": i, "platform": platform, "device_model": model, "device_tier": tier, "os_version": os_version}
            row |= {"start": 3600.0 * k, "end": 3600.0 * k + 600.0}
            row |= {key: values[i] for key, values in extra.items()}
            rows.append(row)
    return normalise(pd.DataFrame(rows))


def profile_row(
    device_model: str, *, os: str = "Android", os_version: str = "14", model: str = "E", per_example_s: float = 0.01, **kw
) -> dict:
    row = dict.fromkeys(COLUMNS)
    q = np.linspace(per_example_s, per_example_s * 1.2, 101).tolist()
    row |= {"device_model": device_model, "os": os, "os_version": os_version, "model": model, "task": "binary"}
    row |= {"per_example_s_quantiles": q, "per_example_s_mean": per_example_s, "peak_memory_mb": 8.0, "storage_bytes": 760_000}
    row |= {"cpu_mean_percent": 40.0, "update_bytes": 756_000, "n_samples": 12}
    return row | kw


def profiles_frame(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=COLUMNS)


def local_classes_profiles(model: str = "E") -> pd.DataFrame:
    """Profiles as the local-classes farm writes them: host OS, each class standing for an Android tier."""
    return profiles_frame(
        *[
            profile_row(
                f"vm ({name})",
                os="Linux",
                os_version="6.1.0",
                model=model,
                platform="Android",
                device_tier=tier,
                per_example_s=s,
                device_class=name,
            )
            for name, tier, s in [("high-end", "high", 0.005), ("mid-range", "mid", 0.01), ("low-end", "low", 0.3)]
        ]
    )


@pytest.fixture
def hand_log() -> pd.DataFrame:
    # 6 devices, 20 sessions: exact (Pixel 7), by file (SM-A105F), by attributes (Moto G, mid), unknown (iPhone 11, no iOS measured)
    return sessions_frame(
        [
            ("Pixel 7", "Android", "high", "14", 5),
            ("pixel-7", "Android", "high", "13", 3),
            ("SM-A105F", "Android", "low", "11", 4),
            ("Moto G", "Android", "mid", "12", 2),
            ("iPhone 11", "iOS", "mid", "17", 4),
            ("Mystery", "Android", None, "12", 2),
        ]
    )


@pytest.fixture
def hand_profiles() -> pd.DataFrame:
    return profiles_frame(
        profile_row("Pixel 7", platform="Android", device_tier="high", soc="Google Tensor G2", device_memory_mb=8192),
        profile_row("Galaxy A10", platform="Android", device_tier="low", soc="Exynos 7884", device_memory_mb=2048),
        profile_row("Galaxy A52", platform="Android", device_tier="mid", soc="Qualcomm Snapdragon 720G", device_memory_mb=6144),
        profile_row("Pixel 6a", platform="Android", device_tier="mid", soc="Google Tensor", device_memory_mb=6144),
    )
