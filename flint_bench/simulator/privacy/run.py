"""What `[privacy]` changes in a run (`apply_privacy`, the one hook in experiment.run) and what it reports.

- SecAgg: every task moves the protocol's extra bytes (through the simulator's bandwidth model, as
  a larger `update_bytes`) and takes its extra round trips and mask expansion (the strategy's
  scheduler adds them to each task's duration); the aggregator's mask work is a summary figure.
- DP: the backend trains each aggregated client on its own so the strategy can clip its delta;
  the strategy then sums with noise. The noise generator is seeded by the aggregation's seed key,
  so a resumed run draws the same noise.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ..backends import Backend, ExecutorJob, TrainingTask
from ..simulation import Setup, training_data
from .accounting import epsilon_fixed_size, epsilon_gaussian
from .dp import local_multiplier_bound
from .secagg import secagg_cost, server_seconds

if TYPE_CHECKING:
    import torch

    from ..strategies import Strategy


class PrivateBackend(Backend):
    """Trains each client through `inner` alone (its own delta), then the strategy's DP sum."""

    def __init__(self, inner: Backend, setup: Setup):
        super().__init__(training_data(setup))
        self.inner, self.strategy = inner, setup.strategy

    def weighted_delta_sum(
        self, clients: np.ndarray, starts: torch.Tensor, start_index: np.ndarray, weights: np.ndarray, task: TrainingTask
    ) -> torch.Tensor:
        import torch

        one = np.ones(1)
        deltas = torch.stack(
            [
                self.inner.weighted_delta_sum(clients[i : i + 1], starts, start_index[i : i + 1], one, task)
                for i in range(len(clients))
            ]
        )
        generator = torch.Generator().manual_seed(noise_seed(task.seed_key))
        total, _share_clipped = self.strategy.private_sum(deltas, weights, generator)
        return total

    def partial_sums(self, jobs: list[ExecutorJob], starts: torch.Tensor, task: TrainingTask) -> Iterable[torch.Tensor]:
        return self.inner.partial_sums(jobs, starts, task)

    def close(self) -> None:
        self.inner.close()


def noise_seed(seed_key: tuple[int, ...]) -> int:
    """The seed of one aggregation's DP noise (seed, trial, aggregation), apart from the training shuffles' streams."""
    return zlib.crc32(repr(("dp-noise", *seed_key)).encode())


def apply_privacy(setup: Setup, backend: Backend | None) -> Backend | None:
    """Apply `[privacy]` to a prepared run: SecAgg costs into the setup, DP around the backend."""
    p, strategy = setup.cfg.privacy, setup.strategy
    if p.secagg is not None and strategy.secagg_cost is None:
        cost = secagg_cost(p.secagg.protocol, strategy.secagg_clients, p.secagg.threshold, p.secagg.bits, setup.update_bytes)
        setup.strategy = replace(strategy, secagg_cost=cost)  # type: ignore[type-var]  # a dataclass strategy
        setup.update_bytes = cost.task_bytes
    if p.dp is not None and backend is not None and not isinstance(backend, PrivateBackend):
        return PrivateBackend(backend, setup)
    return backend


def dp_figures(strategy: Strategy, population: int, aggregations: int) -> dict[str, Any] | None:
    """ε at δ after `aggregations` steps (None: no finite bound, e.g. z = 0), and what it assumes."""
    dp = strategy.dp
    if dp is None:
        return None
    k = strategy.sample_size
    fig: dict[str, Any] = {
        "mode": dp.mode,
        "noise_multiplier": dp.noise_multiplier,
        "clip_norm": dp.clip_norm,
        "delta": dp.delta,
        "steps": aggregations,
        "sample_size": k,
        "population": population,
        "sampling": "fixed-size (without replacement), one step per aggregation, replace-one",
    }
    z = dp.noise_multiplier
    if dp.mode == "local":
        z = local_multiplier_bound(z, k, strategy.min_relative_weight)
        fig["epsilon_local_per_update"] = epsilon_gaussian(dp.noise_multiplier, 1, dp.delta)
    fig["server_noise_multiplier"] = z
    fig["epsilon"] = epsilon_fixed_size(z, population, k, aggregations, dp.delta)
    return fig


def epsilon_after(fig: dict[str, Any] | None) -> Callable[[int], float | None] | None:
    """ε after a number of steps, for the run whose `dp_figures` are `fig` (None without DP)."""
    if fig is None:
        return None
    return lambda steps: epsilon_fixed_size(
        fig["server_noise_multiplier"], fig["population"], fig["sample_size"], steps, fig["delta"]
    )


def secagg_figures(strategy: Strategy, aggregations: int, virtual_s: float) -> dict[str, Any] | None:
    """The SecAgg cost per task and per aggregation, and the aggregator's mask work over the run."""
    cost, s = strategy.secagg_cost, strategy.secagg
    if cost is None or s is None:
        return None
    per_agg = server_seconds(cost, s.prg_bytes_per_s)
    return {
        **cost.as_dict(),
        "task_extra_s": strategy.task_extra_s,
        "aggregator_s_per_aggregation": per_agg,
        "aggregator_busy_share": per_agg * aggregations / virtual_s if virtual_s > 0 else 0.0,
    }
