"""DP maths: clipping, the noise's scale in both modes, the sensitivity bound."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from flint_bench.simulator.privacy.dp import central_noise_std, clip_rows, local_multiplier_bound, private_sum
from flint_bench.simulator.privacy.settings import DP


def test_clip_rows_hand_computed():
    deltas = torch.tensor([[3.0, 4.0], [0.3, 0.4], [0.0, 0.0]])  # norms 5, 0.5, 0
    clipped, norms = clip_rows(deltas, 1.0)
    assert norms.tolist() == pytest.approx([5.0, 0.5, 0.0])
    assert clipped.tolist() == [pytest.approx([0.6, 0.8]), pytest.approx([0.3, 0.4]), [0.0, 0.0]]


def test_central_without_noise_is_the_weighted_sum_of_clipped_deltas():
    deltas = torch.tensor([[3.0, 4.0], [0.3, 0.4]])
    total, share = private_sum(deltas, np.array([0.5, 0.5]), DP(noise_multiplier=0.0, clip_norm=1.0), 0.5, torch.Generator())
    assert total.tolist() == pytest.approx([0.45, 0.6])
    assert share == 0.5


@pytest.mark.parametrize("mode", ["central", "local"])
def test_noise_scale_matches_the_formula(mode):
    # many coordinates: the sample std of the noise is within a few percent of its formula
    P, k, z, C = 200_000, 4, 1.5, 2.0
    w_max = 1 / k
    total, _ = private_sum(torch.zeros(k, P), np.full(k, w_max), DP(z, C, 1e-5, mode), w_max, torch.Generator().manual_seed(1))
    expected = central_noise_std(z, C, w_max) if mode == "central" else z * C * math.sqrt(k) * w_max
    assert float(total.std()) == pytest.approx(expected, rel=0.02)
    assert abs(float(total.mean())) < 5 * expected / math.sqrt(P)


def test_same_generator_seed_same_noise_and_weight_bound_enforced():
    dp = DP(1.0, 1.0)
    a, _ = private_sum(torch.ones(3, 5), np.full(3, 0.1), dp, 0.1, torch.Generator().manual_seed(7))
    b, _ = private_sum(torch.ones(3, 5), np.full(3, 0.1), dp, 0.1, torch.Generator().manual_seed(7))
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match="sensitivity bound"):
        private_sum(torch.ones(2, 5), np.array([0.2, 0.1]), dp, 0.1, torch.Generator())


def test_local_multiplier_bound():
    assert local_multiplier_bound(1.0, 1) == 1.0
    assert local_multiplier_bound(0.5, 16) == pytest.approx(0.5 * 4.0)  # uniform weights: z·sqrt(k)
    assert local_multiplier_bound(1.0, 5, 0.5) == pytest.approx(math.sqrt(1 + 4 * 0.25))
