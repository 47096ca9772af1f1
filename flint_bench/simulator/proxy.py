"""Proxy data: a population of clients with tail-heavy quantity skew and optional Dirichlet label skew.

All records live in one set of contiguous tensors ordered by client, with an `offsets` array
(client k owns rows offsets[k]:offsets[k+1]); no file or loader per client. Executors get
contiguous client ranges (`partition`, `ProxyData.rows`). With `proxy.storage = "lazy"` no record is
built up front: each executor generates a client's records when it trains (`partitions.LazyRows`).
"""

from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .config import Proxy
from .partitions import LazyRows, MemoryRows, RowSource, generate

if TYPE_CHECKING:
    import torch

    from ..zoo import ModelDef

HOLDOUT_SEED_OFFSET = 1_000_003  # held-out rows come from a different generator stream than the clients'


def proxy_seed(sim_seed: int, version: int) -> int:
    return int(np.random.SeedSequence([sim_seed, version, 7]).generate_state(1)[0])


def client_sizes(p: Proxy, rng: np.random.Generator) -> np.ndarray:
    """Records per client: min_records + a lognormal excess matched to the mean/std, clipped at max_records.

    Stochastic rounding keeps the mean; clipping at max trims the tail slightly (the metadata reports
    the realised statistics).
    """
    excess_mean = p.mean_records - p.min_records
    if excess_mean <= 0 or p.std_records == 0:
        sizes = np.full(p.clients, max(p.min_records, round(p.mean_records)), dtype=np.int64)
        return sizes
    sigma2 = math.log1p((p.std_records / excess_mean) ** 2)
    mu = math.log(excess_mean) - sigma2 / 2
    x = rng.lognormal(mu, math.sqrt(sigma2), p.clients)
    frac = x - np.floor(x)
    x = np.floor(x) + (rng.random(p.clients) < frac)
    return np.clip(p.min_records + x, p.min_records, p.max_records).astype(np.int64)


def partition_by_id(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows grouped by client id (clients in sorted id order): the row permutation and records per client."""
    order = np.argsort(ids, kind="stable")
    _, sizes = np.unique(ids[order], return_counts=True)
    return order, sizes.astype(np.int64)


def load_dataset(model: ModelDef, p: Proxy, file: str) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """The arrays of `proxy.dataset` and its id column; errors name the config key and the file."""
    from ..core.errors import ConfigError

    if p.dataset is None:
        raise ValueError("load_dataset needs proxy.dataset")
    path = Path(p.dataset)
    path = path if path.is_absolute() else Path(file).parent / path

    def refuse(problem: str) -> ConfigError:
        return ConfigError(file, "proxy.dataset", f"{path}: {problem}")

    if not path.is_file():
        raise refuse(f"does not exist; give an .npz with input_0..input_k and '{p.id_field}'")
    sample = tuple(t.numpy() for t in model.make_data(1, 0))
    names = [f"input_{i}" for i in range(len(sample))]
    try:
        with np.load(path, allow_pickle=False) as npz:  # an object array would unpickle: refused
            missing = [name for name in [*names, p.id_field] if name not in npz.files]
            if missing:
                raise refuse(f"lacks the arrays {missing} (model {model.name} takes {len(sample)} inputs: features then labels)")
            arrays = tuple(npz[name] for name in names)
            ids = npz[p.id_field]
    except (OSError, ValueError, TypeError, EOFError, zipfile.BadZipFile) as e:  # TypeError: a bare .npy
        raise refuse(f"not a readable .npz of numeric arrays ({type(e).__name__}: {e})") from None
    if ids.ndim != 1 or len(np.unique(ids)) < 2:
        raise refuse(f"'{p.id_field}' must be one id per record, with at least two distinct ids (one client is held out)")
    for name, a, like in zip(names, arrays, sample, strict=True):
        if a.shape != (len(ids), *like.shape[1:]):
            raise refuse(f"'{name}' has shape {a.shape}; model {model.name} needs {(len(ids), *like.shape[1:])} (one row per id)")
        if not np.can_cast(a.dtype, like.dtype, casting="same_kind"):
            raise refuse(f"'{name}' holds {a.dtype}; model {model.name} needs {like.dtype}")
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise refuse(f"'{name}' holds NaN or infinite values")
    return tuple(a.astype(like.dtype, copy=False) for a, like in zip(arrays, sample, strict=True)), ids


def dataset_sizes(model: ModelDef, p: Proxy, file: str) -> np.ndarray:
    """Records per training client of a dataset partitioned by id (the last tenth of the ids is held out)."""
    _, sizes = partition_by_id(load_dataset(model, p, file)[1])
    return sizes[: len(sizes) - _holdout_clients(len(sizes))]


def _holdout_clients(n_clients: int) -> int:
    return max(1, n_clients // 10) if n_clients > 1 else 0


def _label_skew_order(labels: np.ndarray, sizes: np.ndarray, alpha: float, rng: np.random.Generator) -> np.ndarray:
    """A permutation of the rows giving client k a positive share p_k ~ Beta(α·r, α·(1-r)) (2-class Dirichlet)."""
    pos = np.flatnonzero(labels > 0.5)
    neg = np.flatnonzero(labels <= 0.5)
    rng.shuffle(pos)
    rng.shuffle(neg)
    r = min(max(len(pos) / max(len(labels), 1), 1e-3), 1 - 1e-3)
    want = rng.binomial(sizes, rng.beta(alpha * r, alpha * (1 - r), len(sizes)))
    before = np.cumsum(want) - want
    got = np.clip(len(pos) - before, 0, want)  # positives run out: later clients get fewer
    deficit = len(pos) - got.sum()
    if deficit > 0:  # positives left over: top up clients with room, in random order
        order = rng.permutation(len(sizes))
        room = (sizes - got)[order]
        take = np.clip(deficit - (np.cumsum(room) - room), 0, room)
        got[order] += take
    n_neg = sizes - got
    pos_off = np.concatenate([[0], np.cumsum(got)])
    neg_off = np.concatenate([[0], np.cumsum(n_neg)])
    # client k's rows: its positives then its negatives; built with one repeat/arange, no Python loop
    client_of_pos = np.repeat(np.arange(len(sizes)), got)
    client_of_neg = np.repeat(np.arange(len(sizes)), n_neg)
    rows = np.concatenate([pos[: pos_off[-1]], neg[: neg_off[-1]]])
    owner = np.concatenate([client_of_pos, client_of_neg])
    return rows[np.argsort(owner, kind="stable")]


LAZY_SAMPLE_RECORDS = 5_000  # a lazy proxy's label statistics and centralized baseline use this many records


@dataclass
class ProxyData:
    tensors: tuple[torch.Tensor, ...]  # rows ordered by client; a lazy proxy: a sample of clients' rows (`pooled`)
    offsets: np.ndarray  # int64, len clients + 1
    holdout: tuple[torch.Tensor, ...]
    metadata: dict[str, Any]
    lazy: LazyRows | None = None  # every client's records generated on demand

    def rows(self, lo: int, hi: int) -> RowSource:
        """Clients [lo, hi): one executor's partition."""
        if self.lazy is not None:
            return LazyRows(self.lazy.sizes[lo:hi], lo, self.lazy.proxy_seed, self.lazy.label_ratio)
        a, b = int(self.offsets[lo]), int(self.offsets[hi])
        return MemoryRows(tuple(t[a:b] for t in self.tensors), self.offsets[lo : hi + 1] - a)

    @property
    def sizes(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def clients(self) -> int:
        return len(self.offsets) - 1


def build_proxy(model: ModelDef, p: Proxy, sim_seed: int, file: str = "<config>") -> ProxyData:
    """Generate the proxy for `model` (a zoo ModelDef): sizes, records from the model's generator, label skew."""
    import torch

    from ..core.errors import ConfigError

    seed = proxy_seed(sim_seed, p.version)
    rng = np.random.default_rng(seed)
    holdout = None
    if p.label_ratio is not None and (model.task != "binary" or p.dataset is not None):
        problem = "a dataset's labels are its own" if p.dataset else f"model {model.name} is '{model.task}', not binary"
        raise ConfigError(file, "proxy.label_ratio", f"sets the positive share of a binary task's proxy; {problem}. Remove it")
    lazy = None
    if p.storage == "lazy":
        if p.dataset is not None or p.label_alpha is not None:
            key = "proxy.dataset" if p.dataset is not None else "proxy.label_alpha"
            raise ConfigError(
                file, key, 'a lazy proxy (proxy.storage = "lazy") generates each client alone: no dataset, no label skew'
            )
        sizes = client_sizes(p, rng)
        lazy = LazyRows(sizes, 0, seed, p.label_ratio)
        sample = _sample_clients(sizes, rng)
        tensors, _ = lazy.gather(model, sample)
    elif p.dataset is not None:
        arrays, ids = load_dataset(model, p, file)
        order, sizes = partition_by_id(ids)
        n_train = len(sizes) - _holdout_clients(len(sizes))
        split = int(sizes[:n_train].sum())
        ordered = tuple(torch.from_numpy(np.ascontiguousarray(a[order])) for a in arrays)
        tensors, holdout = tuple(t[:split] for t in ordered), tuple(t[split:] for t in ordered)
        sizes = sizes[:n_train]
    else:
        sizes = client_sizes(p, rng)
        tensors = generate(model, int(sizes.sum()), seed % 2**31, p.label_ratio)
    total = int(sizes.sum())
    label = tensors[model.n_features].numpy()
    label_ratio, per_client = None, None
    if p.label_alpha is not None and p.dataset is None:
        if model.task != "binary":
            raise ConfigError(
                file,
                "proxy.label_alpha",
                f"Dirichlet label skew is implemented for binary tasks; model {model.name} is '{model.task}'. Remove proxy.label_alpha",
            )
        order = _label_skew_order(label, sizes, p.label_alpha, rng)
        tensors = tuple(t[torch.as_tensor(order)] for t in tensors)
        label = tensors[model.n_features].numpy()
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    if model.task == "binary":
        label_ratio = float(label.mean())
        per_client = np.add.reduceat(label, offsets[:-1]) / sizes if total and lazy is None else None
    if holdout is None:
        holdout = generate(model, p.holdout, (seed + HOLDOUT_SEED_OFFSET) % 2**31, p.label_ratio)
    meta: dict[str, Any] = {
        "model": model.name,
        "task": model.task,
        "seed": seed,
        "version": p.version,
        "population": {"clients": len(sizes), "records": total},
        "quantity": {
            "mean": float(sizes.mean()),
            "std": float(sizes.std()),
            "min": int(sizes.min()),
            "max": int(sizes.max()),
            "p50": float(np.percentile(sizes, 50)),
            "p90": float(np.percentile(sizes, 90)),
            "p99": float(np.percentile(sizes, 99)),
            "target": {"mean": p.mean_records, "std": p.std_records, "max": p.max_records},
        },
        "labels": {
            "label_ratio": label_ratio,
            "target_label_ratio": p.label_ratio,
            "dirichlet_alpha": p.label_alpha,
            "client_positive_share_std": float(per_client.std()) if per_client is not None else None,
            "holdout_label_ratio": float(holdout[model.n_features].float().mean()) if model.task == "binary" else None,
        },
        "holdout_records": len(holdout[0]),
        "partition": {"by": "id_field", "dataset": p.dataset, "id_field": p.id_field} if p.dataset else {"by": "synthetic"},
        "storage": p.storage,
    }
    if lazy is not None:  # label statistics and the centralized baseline come from a sample of clients
        meta["labels"] |= {"sample_records": len(tensors[0])}
    return ProxyData(tensors=tensors, offsets=offsets, holdout=holdout, metadata=meta, lazy=lazy)


def _sample_clients(sizes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Clients chosen uniformly (sorted) holding about LAZY_SAMPLE_RECORDS records."""
    k = min(len(sizes), max(1, int(LAZY_SAMPLE_RECORDS / max(float(sizes.mean()), 1.0))))
    return np.sort(rng.choice(len(sizes), k, replace=False))


def slice_partition(data: ProxyData, lo: int, hi: int) -> tuple[tuple[torch.Tensor, ...], np.ndarray]:
    """The rows and rebased offsets of clients [lo, hi) of an in-memory proxy."""
    part = data.rows(lo, hi)
    if not isinstance(part, MemoryRows):
        raise ValueError("a lazy proxy holds no rows to slice; use ProxyData.rows")
    return part.tensors, part.offsets
