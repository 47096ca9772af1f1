"""DP-FedAvg / DP-FedBuff maths on real model deltas. Pure (torch tensors in, tensors out).

Every client's delta is clipped to L2 norm C; the server sums the clipped deltas with weights of at
most `w_max` (1/cohort for FedAvg's fixed denominator, 1/sqrt(1+τ)/K <= 1/K for FedBuff), so one
client moves the sum by at most w_max·C. Central mode adds N(0, (z·C·w_max)²) to the weighted sum
(McMahan et al. 2018, "Learning Differentially Private Recurrent Language Models"): the same as
noise N(0, (z·C)²) on the plain sum of clipped deltas, scaled by w_max. Local mode adds
N(0, (z·C)²) to each clipped delta before the weighted sum.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .settings import DP


def clip_rows(deltas: torch.Tensor, clip_norm: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Each row scaled to L2 norm <= clip_norm (rows already inside are kept as they are), and the rows' norms."""
    norms = torch.linalg.vector_norm(deltas, dim=1)
    scale = torch.clamp(clip_norm / torch.clamp(norms, min=1e-12), max=1.0)
    return deltas * scale[:, None], norms


def central_noise_std(noise_multiplier: float, clip_norm: float, w_max: float) -> float:
    """Std of the Gaussian noise on the weighted sum: z · (its sensitivity w_max·C)."""
    return noise_multiplier * clip_norm * w_max


def private_sum(
    deltas: torch.Tensor, weights: np.ndarray, dp: DP, w_max: float, generator: torch.Generator
) -> tuple[torch.Tensor, float]:
    """Σ_i w_i·clip(Δ_i) plus the mode's noise, and the share of clients whose delta was clipped.

    deltas: [n, P] per-client deltas; weights: n weights, each <= w_max.
    """
    if len(weights) and float(np.max(weights)) > w_max * (1 + 1e-9):
        raise ValueError(f"a client weight {float(np.max(weights))} exceeds the sensitivity bound {w_max}")
    clipped, norms = clip_rows(deltas, dp.clip_norm)
    w = torch.as_tensor(np.asarray(weights, dtype=np.float64), dtype=deltas.dtype)
    shape = (deltas.shape[1],)
    if dp.mode == "local":
        noisy = clipped + dp.noise_multiplier * dp.clip_norm * torch.randn((len(w), *shape), generator=generator)
        total = w @ noisy
    else:
        total = w @ clipped + central_noise_std(dp.noise_multiplier, dp.clip_norm, w_max) * torch.randn(
            shape, generator=generator
        )
    share_clipped = float((norms > dp.clip_norm).float().mean()) if len(norms) else 0.0
    return total, share_clipped


def local_multiplier_bound(noise_multiplier: float, k: int, min_relative_weight: float = 1.0) -> float:
    """Local mode seen from the server: the noise multiplier of the weighted sum of k noisy updates.

    The sum carries noise of std z·C·sqrt(Σ w_i²) against a sensitivity of C·max w_i; with weights
    w_i in [r·w_max, w_max] the smallest ratio is at one full weight and k-1 at r: z·sqrt(1 + (k-1)·r²).
    """
    return noise_multiplier * math.sqrt(1.0 + (k - 1) * min_relative_weight**2)
