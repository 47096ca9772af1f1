"""The device catalog of synthetic session logs: which phone models exist, their hardware tier,
how common they are, and which OS versions each one runs (the figures are plausible, not measured).

- Device mix: iOS is concentrated on a few recent iPhones; Android is a long tail (named popular
  models plus ~500 generic ones, Zipf weights), so most Android devices are in the tail.
- OS versions: each model has a launch OS and a last supported OS; a device runs the newest with
  a platform-specific probability and lags one or more majors otherwise (Android lags more).
  Release dates are the real ones of each version.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..core.versions import version_sort_key

IOS_VERSIONS = [
    ("12", "2018-09-17"),
    ("13", "2019-09-19"),
    ("14", "2020-09-16"),
    ("15", "2021-09-20"),
    ("16", "2022-09-12"),
    ("17", "2023-09-18"),
]
ANDROID_VERSIONS = [
    ("7.0", "2016-08-22"),
    ("8.0", "2017-08-21"),
    ("8.1", "2017-12-05"),
    ("9", "2018-08-06"),
    ("10", "2019-09-03"),
    ("11", "2020-09-08"),
    ("12", "2021-10-04"),
    ("13", "2022-08-15"),
    ("14", "2023-10-04"),
]

# (model, tier, index of launch OS, index of last supported OS, weight) - iOS: a handful dominate.
IOS_MODELS = [
    ("iPhone 15 Pro Max", "high", 5, 5, 7),
    ("iPhone 15 Pro", "high", 5, 5, 6),
    ("iPhone 15", "mid", 5, 5, 6),
    ("iPhone 14 Pro Max", "high", 4, 5, 7),
    ("iPhone 14 Pro", "high", 4, 5, 6),
    ("iPhone 14", "mid", 4, 5, 8),
    ("iPhone 13", "mid", 3, 5, 15),
    ("iPhone 13 Pro", "high", 3, 5, 6),
    ("iPhone 12", "mid", 2, 5, 12),
    ("iPhone 11", "mid", 1, 5, 11),
    ("iPhone SE (2022)", "low", 3, 5, 4),
    ("iPhone XR", "low", 0, 5, 5),
    ("iPhone X", "low", 0, 4, 2),
    ("iPhone 8", "low", 0, 4, 3),
    ("iPhone 7", "low", 0, 3, 1.5),
    ("iPad (9th generation)", "mid", 3, 5, 3),
    ("iPad Pro 11-inch", "high", 3, 5, 2),
]
ANDROID_NAMED = [
    ("Samsung Galaxy S23 Ultra", "high", 7, 8),
    ("Samsung Galaxy S22", "high", 6, 8),
    ("Pixel 7", "high", 7, 8),
    ("Samsung Galaxy A54", "mid", 7, 8),
    ("Samsung Galaxy A14", "low", 7, 8),
    ("Samsung Galaxy S21", "high", 5, 8),
    ("Pixel 8", "high", 8, 8),
    ("Samsung Galaxy A53", "mid", 6, 8),
    ("Samsung Galaxy A13", "low", 6, 8),
    ("Pixel 6a", "mid", 6, 8),
    ("Xiaomi Redmi Note 12", "low", 6, 8),
    ("Samsung Galaxy S20", "high", 4, 7),
    ("OnePlus 11", "high", 7, 8),
    ("Samsung Galaxy A32", "mid", 5, 7),
    ("Xiaomi Redmi Note 8", "low", 3, 5),
    ("Motorola moto g(8)", "low", 4, 5),
    ("Samsung Galaxy A10", "low", 3, 5),
    ("Samsung Galaxy J7", "low", 0, 3),
    ("Huawei P30", "mid", 3, 4),
    ("Samsung Galaxy S9", "high", 1, 4),
]
ANDROID_TAIL_SERIES = [
    ("Samsung Galaxy A{n}", "low"),
    ("Samsung Galaxy M{n}", "low"),
    ("Xiaomi Redmi {n}", "low"),
    ("Xiaomi Poco X{n}", "mid"),
    ("Motorola moto e{n}", "low"),
    ("Motorola moto g{n}", "low"),
    ("OPPO A{n}", "low"),
    ("OPPO Reno{n}", "mid"),
    ("vivo Y{n}", "low"),
    ("vivo V{n}", "mid"),
    ("realme C{n}", "low"),
    ("realme GT {n}", "high"),
    ("Nokia G{n}", "low"),
    ("TECNO Spark {n}", "low"),
    ("Infinix Hot {n}", "low"),
    ("Huawei nova {n}", "mid"),
    ("OnePlus Nord {n}", "mid"),
    ("Sony Xperia {n}", "high"),
    ("LG K{n}", "low"),
    ("ZTE Blade A{n}", "low"),
]
ANDROID_TAIL_MODELS = 500


TIERS = ["low", "mid", "high"]
PLATFORMS = ["iOS", "Android"]
VERSIONS = [v for v, _ in IOS_VERSIONS] + [v for v, _ in ANDROID_VERSIONS]  # per platform: "13" is iOS 13 and Android 13
VERSION_LABELS = sorted(set(VERSIONS), key=version_sort_key)  # a dictionary needs unique values
VERSION_CODE = np.array([VERSION_LABELS.index(v) for v in VERSIONS], dtype=np.int8)
RELEASE_DAYS = np.array(
    [(dt.date.fromisoformat(d) - dt.date(1970, 1, 1)).days for _, d in IOS_VERSIONS + ANDROID_VERSIONS], dtype=np.int32
)


@dataclass
class Catalog:
    names: list[str]
    platform: npt.NDArray[np.int8]  # 0 = iOS, 1 = Android
    tier: npt.NDArray[np.int8]  # index into TIERS
    weight: npt.NDArray[np.float64]  # within-platform probabilities
    version_cdf: npt.NDArray[np.float64]  # [model, version index into VERSIONS] cumulative probabilities


def _version_probs(first: int, last: int, offset: int, n: int, p_latest: float, lag: float) -> npt.NDArray[np.float64]:
    """Probability over the global version list: the newest supported with p_latest, older ones
    geometrically less likely, never older than the launch version."""
    p = np.zeros(n)
    k = np.arange(last, first - 1, -1)
    w = p_latest * (lag ** np.arange(k.size))
    w[0] = p_latest
    p[offset + k] = w / w.sum()
    return p


def build_catalog(seed: int = 12345) -> Catalog:
    rng = np.random.default_rng(seed)  # fixed: the catalog is the same for every log
    names: list[str] = []
    plat: list[int] = []
    tier: list[int] = []
    weight: list[float] = []
    probs: list[npt.NDArray[np.float64]] = []

    def _add(name: str, platform: int, t: str, w: float) -> None:
        names.append(name)
        plat.append(platform)
        tier.append(TIERS.index(t))
        weight.append(float(w))

    n_ver, a_off = len(VERSIONS), len(IOS_VERSIONS)
    ios_w = np.array([m[4] for m in IOS_MODELS], dtype=float)
    for (name, t, first, last, _), w in zip(IOS_MODELS, ios_w / ios_w.sum(), strict=True):
        _add(name, 0, t, w)
        probs.append(_version_probs(first, last, 0, n_ver, 0.75, 0.25))
    # Android: named models take ~45% of Android devices, a Zipf long tail the rest.
    tail: list[tuple[str, str, int, int]] = []
    taken = {m[0] for m in ANDROID_NAMED}
    number: dict[str, int] = {}
    for i in range(ANDROID_TAIL_MODELS):
        series, t = ANDROID_TAIL_SERIES[i % len(ANDROID_TAIL_SERIES)]
        n = number.get(series, 1) + 1
        while series.format(n=n) in taken:  # never reuse a named model's name
            n += 1
        number[series] = n
        taken.add(series.format(n=n))
        first = int(rng.integers(0, 8))
        last = min(len(ANDROID_VERSIONS) - 1, first + (1 if t == "low" else 2 if t == "mid" else 3) + int(rng.integers(0, 2)))
        tail.append((series.format(n=n), t, first, last))
    named_w = 1.0 / np.arange(1, len(ANDROID_NAMED) + 1) ** 0.8
    tail_w = 1.0 / np.arange(1, len(tail) + 1) ** 0.9
    all_w = np.concatenate([0.45 * named_w / named_w.sum(), 0.55 * tail_w / tail_w.sum()])
    for (name, t, first, last), w in zip(ANDROID_NAMED + tail, all_w, strict=True):
        _add(name, 1, t, w)
        probs.append(_version_probs(first, last, a_off, n_ver, 0.45, 0.55))
    return Catalog(
        names=names,
        platform=np.array(plat, dtype=np.int8),
        tier=np.array(tier, dtype=np.int8),
        weight=np.array(weight),
        version_cdf=np.cumsum(np.array(probs), axis=1),
    )
