"""Real client training on proxy data, the way fast simulators do it.

An `Executor` holds one contiguous partition of the proxy (`partitions.RowSource`: its clients' rows
in memory, or generated when a client trains) and ONE model. Per aggregation it gathers its clients'
rows into compact tensors, trains them and returns only the weighted sum of their deltas (one reduce
per aggregation), in three ways that give the same numbers (float tolerance):

- single-step clients (E = 1 and |Dk| <= B, most clients of a Task-C-like population): their
  delta is -lr·∇L_k(w_start), linear in the gradient, so Σ_k a_k·Δ_k = -lr·∇(Σ_k a_k·L_k) is ONE
  backward pass over all their rows with per-row weights a_k/|Dk| (grouped by start model);
- other clients of equal size are trained together with `vmap(grad(functional_call))` in chunks,
  for models up to VMAP_MAX_PARAMS trainable parameters: vmap carries a dense [chunk, P] gradient
  per step, so measured here model A (1.5k params) trains multi-step clients ~24x faster than the
  loop, while model C (208k, mostly embedding) is 2.5-4x slower; bigger models use the loop;
- `chunk=0` trains one client at a time, updating the one model in place (no deep copy, no
  optimizer object): the reference the other two are tested against.

Local training = `epochs` passes of minibatch SGD (batch size B, mean loss per batch) over the
client's rows; rows are shuffled per epoch with a generator seeded by (seed, aggregation, client),
so a client's update does not depend on which executor or chunk trains it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

if TYPE_CHECKING:
    from ..zoo import ModelDef
    from .partitions import RowSource

SeedKey = tuple[int, ...]


@dataclass
class ParamLayout:
    """Where each trainable parameter lives in one flat float32 vector."""

    names: list[str]
    shapes: list[torch.Size]
    offsets: list[int]
    size: int

    @classmethod
    def of(cls, net: nn.Module) -> ParamLayout:
        names, shapes, offsets, n = [], [], [], 0
        for name, p in net.named_parameters():
            if p.requires_grad:
                names.append(name)
                shapes.append(p.shape)
                offsets.append(n)
                n += p.numel()
        return cls(names, shapes, offsets, n)

    def unflatten(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        return {n: flat[o : o + s.numel()].view(s) for n, s, o in zip(self.names, self.shapes, self.offsets, strict=True)}


def get_flat(net: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in net.parameters() if p.requires_grad]).clone()


def set_flat(net: nn.Module, flat: torch.Tensor) -> None:
    with torch.no_grad():
        o = 0
        for p in net.parameters():
            if p.requires_grad:
                p.copy_(flat[o : o + p.numel()].view_as(p))
                o += p.numel()


def row_losses(model: ModelDef) -> Callable[..., torch.Tensor]:
    """Per-row losses [n] whose mean is the model's batch loss: the model's own `row_loss`, a torch loss
    module's reduction="none" averaged over each row, or (any other loss) each row as a batch of one through
    vmap, which costs ~0.2-0.4 ms a call here (a unit's whole pass on a small model is ~1.5 ms)."""
    if model.row_loss is not None:
        return model.row_loss
    loss_fn = model.loss
    elementwise = (nn.BCEWithLogitsLoss, nn.BCELoss, nn.MSELoss, nn.L1Loss, nn.SmoothL1Loss, nn.HuberLoss)
    if isinstance(loss_fn, elementwise) and loss_fn.reduction == "mean" and getattr(loss_fn, "weight", None) is None:
        unreduced = copy.copy(loss_fn)
        unreduced.reduction = "none"
        return lambda pred, *y: unreduced(pred, *y).reshape(len(pred), -1).mean(1)
    return torch.func.vmap(lambda pred, *y: loss_fn(pred[None], *(t[None] for t in y)))


def client_perm(seed_key: SeedKey, client: int, n: int) -> np.ndarray:
    return np.random.default_rng([*seed_key, int(client)]).permutation(n)


VMAP_MAX_PARAMS = 50_000


class Executor:
    """One partition of clients [lo, hi) and one model, trained in place or through vmap."""

    def __init__(self, model: ModelDef, rows: RowSource, lo: int, chunk: int = 64, vmap_max_params: int = VMAP_MAX_PARAMS):
        torch.set_num_threads(1)  # many tiny clients: thread start-up costs more than it buys
        self.model, self.net = model, model.net
        self.rows, self.lo, self.chunk = rows, lo, chunk
        self.tensors: tuple[torch.Tensor, ...] = ()  # this aggregation's gathered rows
        self.offsets = np.zeros(1, dtype=np.int64)
        self.layout = ParamLayout.of(self.net)
        self.use_vmap = chunk > 0 and self.layout.size <= vmap_max_params
        self.frozen = {n: p.detach() for n, p in self.net.named_parameters() if not p.requires_grad}
        self.frozen.update(dict(self.net.named_buffers()))
        nf = model.n_features
        layout, net, loss_fn, frozen = self.layout, self.net, model.loss, self.frozen

        def loss_of(flat: torch.Tensor, *batch: torch.Tensor) -> torch.Tensor:
            params = layout.unflatten(flat) | frozen
            return loss_fn(torch.func.functional_call(net, params, batch[:nf]), *batch[nf:])

        self._vgrad = torch.func.vmap(torch.func.grad(loss_of))
        self._row_loss = row_losses(model)
        self._params = [p for p in self.net.parameters() if p.requires_grad]

    def weighted_delta_sum(
        self,
        clients: np.ndarray,
        starts: torch.Tensor,
        start_index: np.ndarray,
        weights: np.ndarray,
        lr: float,
        epochs: int,
        batch_size: int,
        seed_key: SeedKey,
    ) -> torch.Tensor:
        """Σ_i weights[i] · (trained_i − start_i) for global client ids `clients` (all in this partition).

        starts: [V, P] distinct start models; start_index[i] picks client i's row.
        """
        total = torch.zeros(self.layout.size)
        self.tensors, self.offsets = self.rows.gather(self.model, np.asarray(clients) - self.lo)
        local = np.arange(len(clients))  # positions in the gathered rows
        sizes = np.diff(self.offsets)
        if self.chunk <= 0:
            for i in range(len(local)):
                total += float(weights[i]) * self._train_one(
                    int(local[i]), int(clients[i]), starts[start_index[i]], lr, epochs, batch_size, seed_key
                )
            return total
        single = np.zeros(len(local), dtype=bool) if epochs != 1 else sizes <= (batch_size or np.iinfo(np.int64).max)
        # start models in order of first use, not by index: a backend that numbers them otherwise sums alike
        found, first = np.unique(start_index[single], return_index=True)
        for v in found[np.argsort(first)]:
            members = np.flatnonzero(single & (start_index == v))
            self._one_step_sum(total, local[members], sizes[members], starts[int(v)], np.asarray(weights)[members], lr)
        if not self.use_vmap:
            for i in np.flatnonzero(~single).tolist():
                total += float(weights[i]) * self._train_one(
                    int(local[i]), int(clients[i]), starts[start_index[i]], lr, epochs, batch_size, seed_key
                )
            return total
        for n in np.unique(sizes[~single]):
            members = np.flatnonzero(~single & (sizes == n))
            for a in range(0, len(members), self.chunk):
                idx = members[a : a + self.chunk]
                deltas = self._train_group(
                    local[idx], clients[idx], int(n), starts[torch.as_tensor(start_index[idx])], lr, epochs, batch_size, seed_key
                )
                total += torch.as_tensor(weights[idx], dtype=deltas.dtype) @ deltas
        return total

    def _one_step_sum(
        self,
        total: torch.Tensor,
        local: np.ndarray,
        sizes: np.ndarray,
        start: torch.Tensor,
        weights: np.ndarray,
        lr: float,
        max_rows: int = 256,
    ) -> None:
        """total += Σ_k w_k·(-lr·∇L_k(start)) for single-step clients: one weighted backward pass per block of rows."""
        net, nf, params = self.net, self.model.n_features, self._params
        set_flat(net, start)
        ends = np.cumsum(sizes)
        a = 0
        while a < len(local):
            b = max(int(np.searchsorted(ends, ends[a] - sizes[a] + max_rows, side="right")), a + 1)
            n = sizes[a:b]
            rows = np.repeat(self.offsets[local[a:b]] - np.cumsum(n) + n, n) + np.arange(int(n.sum()))
            rows_t = torch.as_tensor(rows)
            batch = [t[rows_t] for t in self.tensors]
            row_w = torch.as_tensor(np.repeat(weights[a:b] / n, n), dtype=torch.float32)
            loss = (row_w * self._row_loss(net(*batch[:nf]), *batch[nf:])).sum()
            grads = torch.autograd.grad(loss, params)
            total.add_(torch.cat([g.reshape(-1) for g in grads]), alpha=-lr)
            a = b

    def _order(self, client: int, n: int, epoch: int, batch_size: int, seed_key: SeedKey) -> np.ndarray:
        if n <= batch_size:  # one full batch: the order inside a batch does not change the mean loss
            return np.arange(n)
        return client_perm((*seed_key, epoch), client, n)

    def _train_one(
        self, local: int, client: int, start: torch.Tensor, lr: float, epochs: int, batch_size: int, seed_key: SeedKey
    ) -> torch.Tensor:
        net, a = self.net, int(self.offsets[local])
        n = int(self.offsets[local + 1]) - a
        b = batch_size or n
        set_flat(net, start)
        params = [p for p in net.parameters() if p.requires_grad]
        nf = self.model.n_features
        for epoch in range(epochs):
            order = torch.as_tensor(a + self._order(client, n, epoch, b, seed_key))
            for s in range(0, n, b):
                rows = order[s : s + b]
                batch = [t[rows] for t in self.tensors]
                loss = self.model.loss(net(*batch[:nf]), *batch[nf:])
                grads = torch.autograd.grad(loss, params)
                with torch.no_grad():
                    for p, g in zip(params, grads, strict=True):
                        p.sub_(lr * g)
        return get_flat(net) - start

    def _train_group(
        self,
        local: np.ndarray,
        clients: np.ndarray,
        n: int,
        starts: torch.Tensor,
        lr: float,
        epochs: int,
        batch_size: int,
        seed_key: SeedKey,
    ) -> torch.Tensor:
        b = batch_size or n
        flat = starts.clone()
        base = self.offsets[local]
        with torch.no_grad():
            for epoch in range(epochs):
                order = (
                    np.stack([self._order(int(c), n, epoch, b, seed_key) for c in clients])
                    if n > b
                    else np.broadcast_to(np.arange(n), (len(local), n))
                )
                rows = torch.as_tensor(base[:, None] + order)
                for s in range(0, n, b):
                    r = rows[:, s : s + b]
                    batch = [t[r] for t in self.tensors]
                    flat -= lr * self._vgrad(flat, *batch)
        return flat - starts


def evaluate(model: ModelDef, flat: torch.Tensor, holdout: tuple[torch.Tensor, ...]) -> tuple[float, float]:
    """(primary metric, loss) of the model with parameters `flat` on the held-out rows."""
    from .metrics import PRIMARY_METRIC
    from .metrics import evaluate as metric_eval

    set_flat(model.net, flat)
    nf = model.n_features
    with torch.no_grad():
        pred = model.net(*holdout[:nf])
        loss = float(model.loss(pred, *holdout[nf:]))
    labels = holdout[nf].numpy()
    return metric_eval(model.task, pred.numpy(), labels)[PRIMARY_METRIC[model.task]], loss


def init_flat(model: ModelDef, seed: int) -> torch.Tensor:
    """Re-initialise the model's parameters reproducibly (one init per trial)."""
    torch.manual_seed(seed)
    for m in model.net.modules():
        reset = getattr(m, "reset_parameters", None)
        if callable(reset):
            reset()
    return get_flat(model.net)


def centralized(
    model: ModelDef,
    tensors: tuple[torch.Tensor, ...],
    holdout: tuple[torch.Tensor, ...],
    epochs: int,
    lr: float,
    batch_size: int,
    seed: int,
    start: torch.Tensor,
) -> tuple[float, float]:
    """The centralized baseline: minibatch SGD over the pooled proxy rows, same model and init."""
    set_flat(model.net, start)
    net, nf = model.net, model.n_features
    params = [p for p in net.parameters() if p.requires_grad]
    n = len(tensors[0])
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(n, generator=g)
        for s in range(0, n, batch_size):
            rows = order[s : s + batch_size]
            batch = [t[rows] for t in tensors]
            grads = torch.autograd.grad(model.loss(net(*batch[:nf]), *batch[nf:]), params)
            with torch.no_grad():
                for p, gr in zip(params, grads, strict=True):
                    p.sub_(lr * gr)
    return evaluate(model, get_flat(net), holdout)
