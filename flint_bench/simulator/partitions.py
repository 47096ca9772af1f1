"""An executor's partition of the proxy: the rows of its clients [lo, hi), in memory or generated on demand.

`MemoryRows` is a slice of the proxy built up front (`proxy.storage = "memory"`). `LazyRows` holds only its
clients' record counts: a client's records are generated when it trains, from (proxy seed, client id), so
they do not depend on which executor owns the client, and a 16M-client population (about 17 GB of model C
features) never exists at once. Both are plain arrays and ints: they cross to executor processes and Ray
actors as they are, and the executor loads the model itself.

`gather(model, local)` returns the records of the partition's clients `local` (0-based in the partition)
as compact tensors with offsets: client i of `local` owns rows offsets[i]:offsets[i + 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

    from ..zoo import ModelDef

Rows = tuple["torch.Tensor", ...]


def offsets_of(sizes: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


@dataclass
class MemoryRows:
    tensors: Rows  # rows of clients lo..hi-1, ordered by client
    offsets: np.ndarray  # rebased to the partition: client i owns rows offsets[i]:offsets[i + 1]

    def gather(self, model: ModelDef, local: np.ndarray) -> tuple[Rows, np.ndarray]:
        import torch

        starts = self.offsets[local]
        sizes = self.offsets[local + 1] - starts
        out = offsets_of(sizes)
        rows = torch.as_tensor(np.repeat(starts - out[:-1], sizes) + np.arange(int(out[-1])))
        return tuple(t[rows] for t in self.tensors), out


def client_seed(proxy_seed: int, client: int) -> int:
    """A generator seed per client, unique for up to 2^32 clients (fits torch's and numpy's 64-bit seeds)."""
    return ((proxy_seed % 2**31) << 32) | int(client)


def with_label_ratio(model: ModelDef, n: int, seed: int, positives: int) -> Rows:
    """`n` records of the model's generator holding exactly `positives` positive labels (a binary task).

    Draws batches from the generator and keeps the first positives and negatives in the order drawn (a
    label-shifted sample of the same concept, like Table 2's down-sampled datasets), then shuffles them.
    """
    import torch

    nf, got, have_pos, have_neg, k = model.n_features, [], 0, 0, 0
    while have_pos < positives or have_neg < n - positives:
        if k >= 10_000:
            raise ValueError(f"the generator of model {model.name} gave too few positive or negative labels")
        batch = model.make_data(max(2 * n, 64), int(np.random.SeedSequence([seed, k]).generate_state(1)[0]) % 2**31)
        got.append(batch)
        pos = batch[nf] > 0.5
        have_pos, have_neg, k = have_pos + int(pos.sum()), have_neg + int((~pos).sum()), k + 1
    rows = tuple(torch.cat(parts) for parts in zip(*got, strict=True))
    pos = rows[nf] > 0.5
    keep = torch.cat([torch.nonzero(pos)[:positives, 0], torch.nonzero(~pos)[: n - positives, 0]])
    order = torch.as_tensor(np.random.default_rng(seed).permutation(n))
    return tuple(t[keep][order] for t in rows)


def generate(model: ModelDef, n: int, seed: int, label_ratio: float | None, rng: np.random.Generator | None = None) -> Rows:
    """`n` records from seed `seed`; with a label ratio, exactly round(n·ratio) positives, or a binomial draw with `rng`."""
    if label_ratio is None:
        return tuple(model.make_data(n, seed))
    positives = int(rng.binomial(n, label_ratio)) if rng is not None else round(n * label_ratio)
    return with_label_ratio(model, n, seed, positives)


@dataclass
class LazyRows:
    sizes: np.ndarray  # records of clients lo..hi-1
    lo: int
    proxy_seed: int
    label_ratio: float | None = None

    def client(self, model: ModelDef, client: int) -> Rows:
        """Global client `client`'s records: the same in every executor and process."""
        n, seed = int(self.sizes[client - self.lo]), client_seed(self.proxy_seed, client)
        rng = np.random.default_rng([self.proxy_seed, client]) if self.label_ratio is not None else None
        return generate(model, n, seed, self.label_ratio, rng)

    def gather(self, model: ModelDef, local: np.ndarray) -> tuple[Rows, np.ndarray]:
        import torch

        parts = [self.client(model, self.lo + int(i)) for i in local]
        if not parts:
            empty = tuple(t[:0] for t in model.make_data(1, 0))
            return empty, np.zeros(1, dtype=np.int64)
        return tuple(torch.cat(ts) for ts in zip(*parts, strict=True)), offsets_of(self.sizes[np.asarray(local)])


RowSource = MemoryRows | LazyRows
