"""Availability traces, and the policy that makes their devices proxy clients.

A trace (CSV or Parquet: `device_id, start, end` in seconds, optionally `device_model, platform,
os_version, ...` as `flint-bench eligibility --traces-out` writes) names its own devices; the proxy
has its own clients. `population.availability.trace_to_clients` says which client replays each trace
device's sessions (trace devices are numbered 0..D-1 in sorted device_id order):

- "fold" (default: the behaviour from before this was a choice, so existing configs keep their
  numbers): device i -> client i mod n. With more devices than clients several devices share a
  client; with fewer, clients beyond the trace's device count never check in.
- "one-to-one": one client per trace device. A synthetic proxy gets as many clients as the trace has
  devices (`proxy.clients` is replaced; the summary says so); a proxy dataset must have exactly that
  many training clients, else exit 2.
- "sample": n of the trace's devices drawn at random (seeded by sim.seed, the same in every trial),
  one per client; the other devices' sessions are dropped. Fewer devices than clients is exit 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.errors import ConfigError, UserError

if TYPE_CHECKING:
    import pandas as pd

KEY = "population.availability.trace_to_clients"


def read_table(path: Path, what: str) -> pd.DataFrame:
    """A user's CSV (or Parquet, by suffix); a file that is neither is a UserError naming it."""
    import pandas as pd

    try:
        return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except Exception as e:  # pandas and pyarrow raise many types for a malformed file
        raise UserError(f"{path}: not a readable {what} ({type(e).__name__}: {e}).") from None


def finite_numbers(values: pd.Series, path: Path, column: str) -> np.ndarray:
    """A column as finite floats; anything else is a UserError naming the file and the column."""
    import pandas as pd

    numbers = pd.to_numeric(values, errors="coerce").to_numpy(float)
    if not len(numbers) or not np.isfinite(numbers).all():
        raise UserError(f"{path}: column '{column}' needs at least one row, and finite numbers in every row.")
    return numbers


@dataclass
class Trace:
    """A trace as read: sessions sorted by start, devices numbered 0..devices-1 by sorted device_id."""

    start: np.ndarray
    end: np.ndarray
    device: np.ndarray
    devices: int
    models: list[str] | None  # per device: its device_model, when the trace has that column
    platforms: list[str] | None  # per device: its platform ('' when missing), when the trace has both columns
    sessions: pd.DataFrame | None  # every row with its columns, for the coverage mapping (None without device_model)


@dataclass
class ClientTrace:
    """The sessions the proxy clients replay, sorted by start, and how the trace's devices became clients."""

    start: np.ndarray
    end: np.ndarray
    client: np.ndarray
    client_device: np.ndarray  # per client: the trace device whose model picks its profile (the lowest); -1: none
    mapping: dict[str, Any]  # for the summary: the policy and the counts of devices, sessions and clients


def load_trace(path: Path, file: str) -> Trace:
    import pandas as pd

    if not path.is_file():
        raise ConfigError(file, "population.availability.trace", f"file {path} not found")
    df = read_table(path, "availability trace")
    missing = {"device_id", "start", "end"} - set(df.columns)
    if missing:
        raise ConfigError(
            file,
            "population.availability.trace",
            f"{path} lacks columns {sorted(missing)} (need device_id, start, end in seconds)",
        )
    df = df.assign(start=finite_numbers(df["start"], path, "start"), end=finite_numbers(df["end"], path, "end"))
    df = df.sort_values("start", kind="stable", ignore_index=True)
    codes, uniques = pd.factorize(df["device_id"], sort=True)
    models = platforms = None
    if "device_model" in df:  # per device (by code): its model name and platform, to pick its profile
        models = _per_device(df["device_model"].astype(str), codes, len(uniques))
        if "platform" in df:
            platforms = _per_device(df["platform"].astype("string").fillna(""), codes, len(uniques))
    return Trace(
        df["start"].to_numpy(float),
        df["end"].to_numpy(float),
        codes.astype(np.int64),
        len(uniques),
        models,
        platforms,
        df if models is not None else None,
    )


def _per_device(column: pd.Series, codes: np.ndarray, devices: int) -> list[str]:
    """A device attribute repeated on its sessions, once per device code (its first session's value)."""
    import pandas as pd

    return pd.Series(column.to_numpy()).groupby(codes).first().reindex(range(devices)).astype(str).tolist()


def one_to_one_clients(trace: Trace | None, policy: str, has_dataset: bool) -> int | None:
    """The proxy's client count the trace dictates (one-to-one on a synthetic proxy), else None."""
    return trace.devices if trace is not None and policy == "one-to-one" and not has_dataset else None


def to_clients(trace: Trace, n_clients: int, policy: str, seed: int, file: str, configured_clients: int) -> ClientTrace:
    """Apply the policy: each session's client, the sessions of dropped devices removed."""
    d, n = trace.devices, n_clients
    if policy == "fold":
        client_of = np.arange(d, dtype=np.int64) % n
    elif policy == "one-to-one":
        if d != n:
            raise ConfigError(
                file,
                KEY,
                f"'one-to-one' gives each of the trace's {d:,} devices its own client, but proxy.dataset has "
                f"{n:,} training clients. Use 'fold' or 'sample', or a trace of exactly those clients",
            )
        client_of = np.arange(d, dtype=np.int64)
    else:  # "sample"
        if d < n:
            raise ConfigError(
                file,
                KEY,
                f"'sample' picks one trace device per proxy client, but the trace has {d:,} devices for {n:,} clients. "
                "Lower proxy.clients, or use 'one-to-one' (one client per device) or 'fold'",
            )
        client_of = np.full(d, -1, dtype=np.int64)
        client_of[np.random.default_rng([seed, 3]).choice(d, n, replace=False)] = np.arange(n)
    kept = np.flatnonzero(client_of >= 0)
    client_device = np.full(n, d, dtype=np.int64)
    np.minimum.at(client_device, client_of[kept], kept)
    client_device[client_device == d] = -1
    client = client_of[trace.device]
    replayed = client >= 0
    if not replayed.all():
        start, end, client = trace.start[replayed], trace.end[replayed], client[replayed]
    else:
        start, end = trace.start, trace.end
    mapping = {
        "policy": policy,
        "trace_devices": d,
        "trace_sessions": len(trace.start),
        "proxy_clients": n,
        "proxy_clients_configured": configured_clients,
        "devices_dropped": d - len(kept),
        "sessions_replayed": len(start),
        "clients_without_device": int((client_device < 0).sum()),
        "max_devices_per_client": int(np.bincount(client_of[kept], minlength=n).max()),
    }
    return ClientTrace(start, end, client, client_device, mapping)


def describe(mapping: dict[str, Any]) -> str:
    """One sentence for people: how many trace devices and proxy clients, and how they were mapped."""
    m = mapping
    text = (
        f"trace: {m['trace_devices']:,} devices, {m['trace_sessions']:,} sessions -> {m['proxy_clients']:,} proxy clients "
        f"by trace_to_clients = '{m['policy']}'"
    )
    if m["policy"] == "fold":
        text += f" (client = device number mod {m['proxy_clients']:,}; up to {m['max_devices_per_client']:,} devices per client)"
    elif m["policy"] == "sample":
        text += f" ({m['devices_dropped']:,} devices and their sessions dropped; {m['sessions_replayed']:,} sessions replayed)"
    if m["proxy_clients"] != m["proxy_clients_configured"]:
        text += f"; proxy.clients = {m['proxy_clients_configured']:,} in the config was replaced by the trace's device count"
    if m["clients_without_device"]:
        text += f"; {m['clients_without_device']:,} clients have no trace device and never check in"
    return text
