"""The SecAgg cost model: hand-computed bytes, thresholds, and how each protocol scales with n."""

from __future__ import annotations

import pytest

from flint_bench.simulator.privacy.secagg import (
    AEAD_BYTES,
    ATTESTATION_BYTES,
    ID_BYTES,
    KEY_BYTES,
    SHARE_BYTES,
    client_extra_seconds,
    masked_bits,
    neighbours,
    secagg_cost,
    server_seconds,
)


def test_masked_bits_leave_room_for_the_sum():
    assert masked_bits(32, 1) == 32
    assert masked_bits(32, 2) == 33
    assert masked_bits(16, 100) == 23  # 100 values of 16 bits sum below 2^23
    assert masked_bits(16, 128) == 23


def test_bonawitz_hand_computed():
    # 4 clients, 100 float32 coordinates (400 bytes), 32-bit quantisation, t = ceil(0.75·4) = 3
    c = secagg_cost("bonawitz", 4, 0.75, 32, 400.0)
    k, masked = 3, 100 * 34 // 8  # 34 bits per coordinate, 425 bytes
    share_ct = 2 * SHARE_BYTES + AEAD_BYTES + 2 * ID_BYTES
    assert (c.neighbours, c.threshold, c.dropout_tolerance, c.masked_bits) == (k, 3, 1, 34)
    assert c.upload_extra_bytes == 2 * KEY_BYTES + k * share_ct + (masked - 400) + k * SHARE_BYTES
    assert c.download_extra_bytes == k * 2 * KEY_BYTES + k * share_ct + 4 * ID_BYTES
    assert c.client_prg_bytes == 4 * masked
    assert c.server_prg_bytes == (3 + 1 * 3) * masked  # 3 self masks, the dropped client's masks with 3 survivors
    assert c.round_trips == 3 and c.server_reconstructions == 4
    assert c.task_bytes == 400 + (c.upload_extra_bytes + c.download_extra_bytes) / 2
    assert client_extra_seconds(c, 0.1, 1e6) == pytest.approx(0.3 + 4 * masked / 1e6)
    assert server_seconds(c, 1e6) == pytest.approx(6 * masked / 1e6)


def test_bell_grows_logarithmically_bonawitz_linearly():
    u = 4e6
    small, big = (secagg_cost(p, n, 0.67, 32, u) for p in ("bonawitz",) for n in (100, 1000))
    bell_small, bell_big = (secagg_cost("bell", n, 0.67, 32, u) for n in (100, 1000))
    assert neighbours("bell", 1000) == 30 and neighbours("bell", 4) == 3
    key_part = lambda c: c.upload_extra_bytes - (c.client_prg_bytes / (c.neighbours + 1) - u)  # noqa: E731
    assert key_part(big) / key_part(small) == pytest.approx(999 / 99, rel=0.01)
    assert key_part(bell_big) < 2 * key_part(bell_small)
    assert bell_big.server_prg_bytes < big.server_prg_bytes / 10


def test_tee_is_flat_in_n_and_tolerates_any_dropout():
    a, b = secagg_cost("tee", 10, 0.67, 32, 4000.0), secagg_cost("tee", 1000, 0.67, 32, 4000.0)
    assert a.dropout_tolerance is None and a.round_trips == 1 and a.neighbours == 0
    assert a.download_extra_bytes == b.download_extra_bytes == ATTESTATION_BYTES + KEY_BYTES
    assert b.server_prg_bytes == 1000 * b.client_prg_bytes  # the enclave expands each buffered seed


def test_no_clients_is_an_error():
    with pytest.raises(ValueError):
        secagg_cost("bonawitz", 0, 0.67, 32, 4.0)
