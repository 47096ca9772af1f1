"""Synthetic session logs for demos and tests, generated in device chunks with numpy only.

What is modelled, and the assumptions (the figures are plausible, not measured):
- Device mix: iOS is concentrated on a few recent iPhones; Android is a long tail (named
  popular models plus ~500 generic ones, Zipf weights), so most Android devices are in the tail.
- OS versions: each model has a launch OS and a last supported OS; a device runs the newest with
  a platform-specific probability and lags one or more majors otherwise (Android lags more).
  Release dates are the real ones of each version.
- Availability: sessions per device per day are log-normal (heavy users and rare users), start
  times follow a local-time diurnal curve (night trough, evening peak) with devices spread over
  a few neighbouring time zones and slightly quieter weekends, so the daily troughs of active
  devices land near 15% of the weekly peak (the paper's Figure 2).
- Session lengths are log-normal and tail-heavy (median ~2.5 min in the foreground; background
  windows, mostly at night while charging, are longer), capped at 8 h; a device's sessions never overlap.
- State: WiFi more likely at home hours and per-device propensity; battery drains from a morning
  full charge and is topped up while charging (likely at night); user attributes (account age,
  reputation, days since last FL participation, empty for never) are per device.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DAY = 86400.0

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

# Local-hour weights of session starts: night trough, morning rise, evening peak.
HOUR_WEIGHTS = np.array(
    [
        0.30,
        0.19,
        0.14,
        0.12,
        0.12,
        0.16,
        0.35,
        0.75,
        1.00,
        0.95,
        0.85,
        0.85,
        0.95,
        0.90,
        0.85,
        0.85,
        0.90,
        1.00,
        1.10,
        1.15,
        1.20,
        1.10,
        0.80,
        0.50,
    ]
)
WEEKDAY_WEIGHTS = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.85, 0.85])  # Monday..Sunday
TZ_OFFSETS_H = np.array([-2, -1, 0, 1, 2])  # a region spanning a few neighbouring time zones
TZ_WEIGHTS = np.array([0.15, 0.25, 0.3, 0.2, 0.1])


@dataclass
class SynthSettings:
    devices: int = 10_000
    days: int = 7
    seed: int = 0
    start: dt.date = dt.date(2024, 1, 1)
    ios_share: float = 0.45
    sessions_per_day: float = 2.0  # mean over devices; the distribution is log-normal (sigma 1)
    chunk_devices: int = 125_000


@dataclass
class Catalog:
    names: list[str]
    platform: np.ndarray  # 0 = iOS, 1 = Android
    tier: np.ndarray  # index into TIERS
    weight: np.ndarray  # within-platform probabilities
    version_cdf: np.ndarray  # [model, version index into VERSIONS] cumulative probabilities


TIERS = ["low", "mid", "high"]
PLATFORMS = ["iOS", "Android"]
VERSIONS = [v for v, _ in IOS_VERSIONS] + [v for v, _ in ANDROID_VERSIONS]  # per platform: "13" is iOS 13 and Android 13
VERSION_LABELS = sorted(set(VERSIONS), key=lambda v: tuple(int(p) for p in v.split(".")))  # a dictionary needs unique values
VERSION_CODE = np.array([VERSION_LABELS.index(v) for v in VERSIONS], dtype=np.int8)
RELEASE_DAYS = np.array(
    [(dt.date.fromisoformat(d) - dt.date(1970, 1, 1)).days for _, d in IOS_VERSIONS + ANDROID_VERSIONS], dtype=np.int32
)


def _version_probs(first: int, last: int, offset: int, n: int, p_latest: float, lag: float) -> np.ndarray:
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
    names, plat, tier, weight, probs = [], [], [], [], []
    n_ver, a_off = len(VERSIONS), len(IOS_VERSIONS)
    ios_w = np.array([m[4] for m in IOS_MODELS], dtype=float)
    for (name, t, first, last, _), w in zip(IOS_MODELS, ios_w / ios_w.sum()):
        names.append(name), plat.append(0), tier.append(TIERS.index(t)), weight.append(w)
        probs.append(_version_probs(first, last, 0, n_ver, 0.75, 0.25))
    # Android: named models take ~45% of Android devices, a Zipf long tail the rest.
    tail, taken = [], {m[0] for m in ANDROID_NAMED}
    number = {}
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
    for (name, t, first, last), w in zip(ANDROID_NAMED + tail, all_w):
        names.append(name), plat.append(1), tier.append(TIERS.index(t)), weight.append(w)
        probs.append(_version_probs(first, last, a_off, n_ver, 0.45, 0.55))
    return Catalog(
        names=names,
        platform=np.array(plat, dtype=np.int8),
        tier=np.array(tier, dtype=np.int8),
        weight=np.array(weight),
        version_cdf=np.cumsum(np.array(probs), axis=1),
    )


def _pick(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    return np.minimum(np.searchsorted(cdf, u, side="right"), cdf.size - 1)


def generate_chunk(settings: SynthSettings, catalog: Catalog, first_device: int, n: int, rng: np.random.Generator) -> dict:
    """Columns (numpy arrays) of the sessions of devices first_device .. first_device + n - 1."""
    days = settings.days
    # --- devices ---
    is_android = rng.random(n) >= settings.ios_share
    ios_idx = np.flatnonzero(catalog.platform == 0)
    and_idx = np.flatnonzero(catalog.platform == 1)
    model = np.where(
        is_android,
        and_idx[_pick(np.cumsum(catalog.weight[and_idx]), rng.random(n))],
        ios_idx[_pick(np.cumsum(catalog.weight[ios_idx]), rng.random(n))],
    )
    vcdf = catalog.version_cdf[model]
    version = np.minimum((rng.random(n)[:, None] > vcdf).sum(axis=1), vcdf.shape[1] - 1)
    rate = settings.sessions_per_day * np.exp(rng.normal(-0.5, 1.0, n))  # log-normal, mean = sessions_per_day
    counts = rng.poisson(rate * days)
    tz = TZ_OFFSETS_H[_pick(np.cumsum(TZ_WEIGHTS), rng.random(n))]
    wifi_home = rng.beta(5, 2, n)
    drain = rng.uniform(3.0, 7.0, n)  # battery % per hour awake
    new_account = rng.random(n) < 0.06
    account_age = np.where(new_account, rng.uniform(0, 30, n), np.minimum(np.exp(rng.normal(np.log(1500), 0.8, n)), 7300))
    low_rep = rng.random(n) < 0.03
    reputation = np.where(low_rep, rng.beta(1, 4, n), rng.beta(9, 1.5, n))
    last_part = np.where(rng.random(n) < 0.25, rng.exponential(10.0, n), np.nan)

    # --- sessions ---
    dev = np.repeat(np.arange(n), counts)
    m = dev.size
    day_cdf = np.cumsum(WEEKDAY_WEIGHTS[(np.arange(days) + settings.start.weekday()) % 7])
    day = _pick(day_cdf / day_cdf[-1], rng.random(m))
    local_hour = _pick(np.cumsum(HOUR_WEIGHTS) / HOUR_WEIGHTS.sum(), rng.random(m))
    start = day * DAY + (local_hour - tz[dev]) * 3600.0 + rng.random(m) * 3600.0
    night = (local_hour >= 23) | (local_hour < 7)
    charging = rng.random(m) < np.where(night, 0.55, np.where(local_hour >= 19, 0.2, 0.1))
    foreground = rng.random(m) < np.where(night & charging, 0.3, 0.85)
    length = np.where(foreground, np.exp(rng.normal(np.log(150.0), 1.3, m)), np.exp(rng.normal(np.log(1200.0), 1.0, m)))
    length = np.minimum(length, 8 * 3600.0)
    home = night | (local_hour >= 19) | (local_hour < 8)
    wifi = rng.random(m) < np.clip(wifi_home[dev] * np.where(home, 1.15, 0.75), 0, 0.98)
    # Full at 7:00, drains while awake until 23:00, then slowly; overnight charging refills it.
    awake = (local_hour - 7) % 24
    battery = 100.0 - drain[dev] * np.minimum(awake, 16) - 1.0 * np.maximum(awake - 16, 0) + rng.normal(0, 8, m)
    battery = np.where(charging, np.where(night, rng.uniform(60, 100, m), battery + rng.uniform(10, 50, m)), battery)
    battery = np.clip(np.round(battery), 1, 100)

    # Order by (device, start), keep the log inside its days, and stop a device's sessions overlapping.
    start = np.mod(start, days * DAY)  # time-zone shifts past either edge wrap around: no pile-up at 0
    order = np.lexsort((start, dev))
    dev, start, length = dev[order], start[order], length[order]
    end = np.minimum(start + length, days * DAY)
    same_next = np.zeros(m, dtype=bool)
    same_next[:-1] = dev[1:] == dev[:-1]
    nxt = np.empty(m)
    nxt[:-1], nxt[-1:] = start[1:], np.inf
    end = np.where(same_next, np.minimum(end, nxt), end)
    d = dev
    return {
        "device_id": (first_device + d).astype(np.int64),
        "platform": catalog.platform[model][d],
        "device_model": model[d].astype(np.int16),
        "device_tier": catalog.tier[model][d],
        "os_version": version[d].astype(np.int8),
        "os_release_date": RELEASE_DAYS[version][d],
        "start": start,
        "end": end,
        "wifi": wifi[order],
        "battery": battery[order].astype(np.int8),
        "charging": charging[order],
        "foreground": foreground[order],
        "account_age_days": account_age[d].astype(np.int32),
        "reputation": reputation[d].astype(np.float32),
        "days_since_last_participation": (last_part[d] + start / DAY).astype(np.float32),
    }


def _arrow_table(cols: dict, catalog: Catalog, start_ms: int):
    import pyarrow as pa

    def dictionary(codes, values, index_type):
        return pa.DictionaryArray.from_arrays(pa.array(codes, type=index_type), pa.array(values, type=pa.string()))

    ts = pa.timestamp("ms", tz="UTC")
    return pa.table(
        {
            "device_id": pa.array(cols["device_id"]),
            "platform": dictionary(cols["platform"], PLATFORMS, pa.int8()),
            "device_model": dictionary(cols["device_model"], catalog.names, pa.int16()),
            "device_tier": dictionary(cols["device_tier"], TIERS, pa.int8()),
            "os_version": dictionary(VERSION_CODE[cols["os_version"]], VERSION_LABELS, pa.int8()),
            "os_release_date": pa.array(cols["os_release_date"], type=pa.int32()).cast(pa.date32()),
            "start": pa.array(start_ms + np.round(cols["start"] * 1000).astype(np.int64), type=ts),
            "end": pa.array(start_ms + np.round(cols["end"] * 1000).astype(np.int64), type=ts),
            "wifi": pa.array(cols["wifi"]),
            "battery": pa.array(cols["battery"]),
            "charging": pa.array(cols["charging"]),
            "foreground": pa.array(cols["foreground"]),
            "account_age_days": pa.array(cols["account_age_days"]),
            "reputation": pa.array(cols["reputation"]),
            "days_since_last_participation": pa.array(cols["days_since_last_participation"], from_pandas=True),
        }
    )


def hourly_active(start: np.ndarray, end: np.ndarray, hours: int) -> np.ndarray:
    """Sessions active in each hour of the log (a session counts in every hour it overlaps)."""
    first = np.clip((start // 3600).astype(np.int64), 0, hours - 1)
    last = np.clip((np.maximum(end - 1e-9, start) // 3600).astype(np.int64), 0, hours - 1)
    diff = np.bincount(first, minlength=hours + 1) - np.bincount(last + 1, minlength=hours + 1)
    return np.cumsum(diff[:-1])


def trough_to_peak(active: np.ndarray) -> float:
    """Median over days of (the day's lowest hour / the week's highest hour), as in Figure 2."""
    days = active.size // 24
    if days == 0 or active.max() == 0:
        return float("nan")
    return float(np.median(active[: days * 24].reshape(days, 24).min(axis=1)) / active.max())


def write_synthetic_log(settings: SynthSettings, out: str | Path) -> dict:
    """Generate the log chunk by chunk into `out` (.parquet or .csv); returns a summary."""
    import pyarrow.parquet as pq

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    catalog = build_catalog()
    rng = np.random.default_rng(settings.seed)
    start_ms = int(dt.datetime.combine(settings.start, dt.time(), dt.UTC).timestamp() * 1000)
    hours = settings.days * 24
    active = np.zeros(hours, dtype=np.int64)
    n_sessions, per_model, lengths = 0, np.zeros(len(catalog.names), dtype=np.int64), []
    tmp = out.with_name(f".{out.name}.tmp")
    writer = None
    try:
        for first in range(0, settings.devices, settings.chunk_devices):
            n = min(settings.chunk_devices, settings.devices - first)
            cols = generate_chunk(settings, catalog, first, n, rng)
            table = _arrow_table(cols, catalog, start_ms)
            if out.suffix.lower() == ".csv":
                table.to_pandas().to_csv(tmp, mode="a", header=first == 0, index=False)
            else:
                writer = writer or pq.ParquetWriter(tmp, table.schema, compression="zstd")
                writer.write_table(table, row_group_size=1_000_000)
            n_sessions += len(cols["start"])
            active += hourly_active(cols["start"], cols["end"], hours)
            change = np.ones(len(cols["device_id"]), dtype=bool)
            change[1:] = cols["device_id"][1:] != cols["device_id"][:-1]
            per_model += np.bincount(cols["device_model"][change], minlength=len(catalog.names))
            lengths.append((cols["end"] - cols["start"])[:: max(1, len(cols["start"]) // 20000)])
        if writer is not None:
            writer.close()
            writer = None
        import os

        if n_sessions == 0:
            raise ValueError("no sessions generated")
        os.replace(tmp, out)
    finally:
        if writer is not None:
            writer.close()
        if tmp.exists():
            tmp.unlink()
    lens = np.concatenate(lengths)
    ios = catalog.platform == 0
    devices_seen = per_model.sum()
    return {
        "out": str(out),
        "devices": settings.devices,
        "devices_with_sessions": int(devices_seen),
        "days": settings.days,
        "sessions": int(n_sessions),
        "seed": settings.seed,
        "start": settings.start.isoformat(),
        "ios_share": float(per_model[ios].sum() / max(devices_seen, 1)),
        "device_models": {"iOS": int((per_model[ios] > 0).sum()), "Android": int((per_model[~ios] > 0).sum())},
        "top_model_share": {
            "iOS": float(per_model[ios].max() / max(per_model[ios].sum(), 1)),
            "Android": float(per_model[~ios].max() / max(per_model[~ios].sum(), 1)),
        },
        "session_seconds_p50": float(np.median(lens)),
        "session_seconds_p99": float(np.quantile(lens, 0.99)),
        "trough_to_peak": trough_to_peak(active),
        "hourly_active_sessions": active.tolist(),
    }
