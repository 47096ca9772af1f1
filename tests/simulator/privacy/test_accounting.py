"""ε through dp-accounting: edge cases, monotonicity, the two paths agreeing, the classic RDP bound."""

from __future__ import annotations

import math
import sys

import pytest

from flint_bench.core.errors import UserError
from flint_bench.simulator.privacy.accounting import INSTALL_HINT, epsilon_fixed_size, epsilon_gaussian

pytest.importorskip("dp_accounting")


def test_no_steps_no_noise():
    assert epsilon_fixed_size(1.0, 1000, 10, 0, 1e-5) == 0.0
    assert epsilon_fixed_size(0.0, 1000, 10, 5, 1e-5) is None
    assert epsilon_gaussian(0.0, 1, 1e-5) is None


def test_epsilon_falls_with_noise_and_sampling_and_grows_with_steps():
    e = epsilon_fixed_size(1.0, 1000, 20, 50, 1e-5)
    assert e is not None and e > 0
    assert epsilon_fixed_size(2.0, 1000, 20, 50, 1e-5) < e
    assert epsilon_fixed_size(1.0, 10_000, 20, 50, 1e-5) < e
    assert epsilon_fixed_size(1.0, 1000, 20, 200, 1e-5) > e
    assert epsilon_fixed_size(1.0, 1000, 20, 50, 1e-3) < e


def test_whole_population_equals_the_unsampled_gaussian():
    # sampling all N of N clients is no amplification: the same ε as composing the Gaussian mechanism
    assert epsilon_fixed_size(3.0, 50, 50, 10, 1e-5) == pytest.approx(epsilon_gaussian(3.0, 10, 1e-5), rel=1e-3)


def test_gaussian_below_the_classic_rdp_conversion():
    # noise z·C against sensitivity 2C: RDP T·α/(2(z/2)²); ε <= min over α of that + log(1/δ)/(α-1)
    z, steps, delta = 4.0, 10, 1e-5
    sigma = z / 2
    classic = min(steps * a / (2 * sigma**2) + math.log(1 / delta) / (a - 1) for a in [1 + i / 100 for i in range(1, 20_000)])
    eps = epsilon_gaussian(z, steps, delta)
    assert eps is not None and 0.6 * classic < eps <= classic


def test_missing_library_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "dp_accounting", None)
    with pytest.raises(UserError, match="privacy") as e:
        epsilon_gaussian(1.0, 1, 1e-5)
    assert str(e.value) == INSTALL_HINT
