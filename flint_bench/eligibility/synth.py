"""Synthetic session logs for demos and tests, generated in device chunks with numpy only.

The devices come from the catalog (catalog.py); what is modelled here, and the assumptions (the
figures are plausible, not measured):
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
import resource
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ..core.config import Fraction, PositiveFloat, PositiveInt, from_dict
from ..core.errors import UserError
from ..core.fileio import write_atomic
from ..core.units import kib_to_mib
from .availability import check_table_path, hourly_active, trough_to_peak
from .catalog import PLATFORMS, RELEASE_DAYS, TIERS, VERSION_CODE, VERSION_LABELS, Catalog, build_catalog

if TYPE_CHECKING:
    import pyarrow as pa

DAY = 86400.0
Columns = dict[str, npt.NDArray[Any]]

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
    devices: PositiveInt = 10_000
    days: PositiveInt = 7
    seed: int = 0
    start: dt.date = dt.date(2024, 1, 1)
    ios_share: Fraction = 0.45
    sessions_per_day: PositiveFloat = 2.0  # mean over devices; the distribution is log-normal (sigma 1)
    chunk_devices: PositiveInt = 125_000


def synth_settings(**options: Any) -> SynthSettings:
    """Settings from command options, checked against the declared constraints; `start` may be an
    ISO date string."""
    start = options.get("start")
    if isinstance(start, str):
        try:
            options["start"] = dt.date.fromisoformat(start)
        except ValueError:
            raise UserError(f"--start: expected a date such as 2024-01-01, got {start!r}.") from None
    return from_dict(SynthSettings, options, "sessions synth options")


def _pick(cdf: npt.NDArray[np.float64], u: npt.NDArray[np.float64]) -> npt.NDArray[np.intp]:
    return np.minimum(np.searchsorted(cdf, u, side="right"), cdf.size - 1)


def generate_chunk(settings: SynthSettings, catalog: Catalog, first_device: int, n: int, rng: np.random.Generator) -> Columns:
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


def _arrow_table(cols: Columns, catalog: Catalog, start_ms: int) -> pa.Table:
    import pyarrow as pa

    def dictionary(codes: npt.NDArray[Any], values: list[str], index_type: pa.DataType) -> pa.DictionaryArray:
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


@dataclass
class _LogTally:
    """What the summary reports, gathered chunk by chunk while the log is written."""

    active: npt.NDArray[np.int64]
    per_model: npt.NDArray[np.int64]
    sessions: int = 0

    def __post_init__(self) -> None:
        self.lengths: list[npt.NDArray[np.float64]] = []

    def add(self, cols: Columns, hours: int) -> None:
        self.sessions += len(cols["start"])
        self.active += hourly_active(cols["start"], cols["end"], hours)
        change = np.ones(len(cols["device_id"]), dtype=bool)
        change[1:] = cols["device_id"][1:] != cols["device_id"][:-1]
        self.per_model += np.bincount(cols["device_model"][change], minlength=self.per_model.size)
        self.lengths.append((cols["end"] - cols["start"])[:: max(1, len(cols["start"]) // 20000)])


def _summary(settings: SynthSettings, out: Path, catalog: Catalog, tally: _LogTally) -> dict[str, Any]:
    lens = np.concatenate(tally.lengths)
    per_model, ios = tally.per_model, catalog.platform == 0
    devices_seen = per_model.sum()
    return {
        "out": str(out),
        "devices": settings.devices,
        "devices_with_sessions": int(devices_seen),
        "days": settings.days,
        "sessions": int(tally.sessions),
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
        "trough_to_peak": trough_to_peak(tally.active),
        "hourly_active_sessions": tally.active.tolist(),
    }


def write_synthetic_log(settings: SynthSettings, out: str | Path) -> dict[str, Any]:
    """Generate the log chunk by chunk into `out` (.parquet or .csv, written atomically); returns
    a summary with the time it took and the process's peak memory."""
    import pyarrow.parquet as pq

    out = Path(out)
    check_table_path(out, "--out")
    t0 = time.perf_counter()
    catalog = build_catalog()
    rng = np.random.default_rng(settings.seed)
    start_ms = int(dt.datetime.combine(settings.start, dt.time(), dt.UTC).timestamp() * 1000)
    hours = settings.days * 24
    tally = _LogTally(np.zeros(hours, dtype=np.int64), np.zeros(len(catalog.names), dtype=np.int64))

    def write(f: IO[bytes]) -> None:
        writer = None
        try:
            for first in range(0, settings.devices, settings.chunk_devices):
                n = min(settings.chunk_devices, settings.devices - first)
                cols = generate_chunk(settings, catalog, first, n, rng)
                table = _arrow_table(cols, catalog, start_ms)
                if out.suffix.lower() == ".csv":
                    table.to_pandas().to_csv(f, header=first == 0, index=False)
                else:
                    writer = writer or pq.ParquetWriter(f, table.schema, compression="zstd")
                    writer.write_table(table, row_group_size=1_000_000)
                tally.add(cols, hours)
        finally:
            if writer is not None:
                writer.close()
        if tally.sessions == 0:
            raise ValueError("no sessions generated")

    write_atomic(out, write)
    return _summary(settings, out, catalog, tally) | {
        "seconds": round(time.perf_counter() - t0, 2),
        "peak_rss_mb": round(kib_to_mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss), 1),
    }
