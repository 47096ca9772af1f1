"""ε at δ for a DP run, through Google's `dp-accounting` (optional extra `privacy`).

The simulator aggregates exactly K clients per step (FedAvg: the first `cohort` completions of a
round; FedBuff: one full buffer of K updates is one step) out of the N clients of the population.
That is fixed-size sampling, so the RDP accountant's `SampledWithoutReplacementDpEvent` is used
(Wang, Balle, Kasiviswanathan 2019), which is defined for the replace-one neighbouring relation:
replacing one client's clipped update moves the sum by up to 2·C·w_max, so the multiplier the
accountant sees is z/2. The amplification by sampling assumes the K clients are a uniformly random
subset; availability-driven selection (who checks in first) does not guarantee that: see
docs/simulator-privacy.md.
"""

from __future__ import annotations

import logging
from typing import Any

from ...core.errors import UserError

INSTALL_HINT = "DP accounting needs the optional extra `privacy`: pip install 'flint-bench[privacy]' (dp-accounting)."


def _dpa() -> Any:
    try:
        import dp_accounting  # type: ignore[import-untyped]
        from dp_accounting.rdp import rdp_privacy_accountant  # type: ignore[import-untyped]
    except ImportError:
        raise UserError(INSTALL_HINT) from None
    # the accountant logs a warning for each RDP order it cannot compute; those orders are skipped
    logging.getLogger("absl").setLevel(logging.ERROR)
    return dp_accounting, rdp_privacy_accountant


def _finite(eps: float) -> float | None:
    return float(eps) if eps == eps and eps != float("inf") else None


def epsilon_fixed_size(noise_multiplier: float, population: int, sample: int, steps: int, delta: float) -> float | None:
    """ε of `steps` rounds of a Gaussian sum over `sample` of `population` clients (replace-one); None = no bound."""
    if steps == 0:
        return 0.0
    if noise_multiplier <= 0:
        return None
    dpa, rdp = _dpa()
    acc = rdp.RdpAccountant(neighboring_relation=dpa.NeighboringRelation.REPLACE_ONE)
    event = dpa.SampledWithoutReplacementDpEvent(population, min(sample, population), dpa.GaussianDpEvent(noise_multiplier / 2))
    acc.compose(event, steps)
    return _finite(acc.get_epsilon(delta))


def epsilon_gaussian(noise_multiplier: float, steps: int, delta: float) -> float | None:
    """ε of `steps` releases of one client's clipped update with noise z·C (local DP, sensitivity 2C, no sampling)."""
    if steps == 0:
        return 0.0
    if noise_multiplier <= 0:
        return None
    dpa, rdp = _dpa()
    acc = rdp.RdpAccountant()
    acc.compose(dpa.GaussianDpEvent(noise_multiplier / 2), steps)
    return _finite(acc.get_epsilon(delta))
