"""Secure aggregation as a cost model: what it adds per client task and per aggregation. Pure.

n clients enter one protocol instance, each with an update of m coordinates quantised to b bits.
Masked coordinates live in Z_R with R = 2^(b + ceil(log2 n)) so the sum of n of them cannot wrap.

- bonawitz (Bonawitz et al., CCS 2017, semi-honest variant): 4 rounds (AdvertiseKeys, ShareKeys,
  MaskedInputCollection, Unmasking), the masked upload replacing the plain one: 3 extra round trips.
  Each client talks to all k = n-1 others: client O(n + m) bytes and O(n·m) mask expansion; the
  server reconstructs the masks of d dropped clients with every survivor, O(d·(n-d)·m) worst case.
- bell (Bell et al., CCS 2020): the same rounds on a sparse graph of k = O(log n) neighbours
  (k = ceil(3·log2 n) here, an assumption, not the paper's constant): O(log n + m) bytes per client.
- tee (the buffered SecAgg of the paper's section 3.6, Huba et al. 2022, "Papaya"): the client
  verifies the enclave's attestation (1 extra round trip), masks its update with a one-time seed
  and sends the seed sealed to the enclave; the untrusted server sums masked updates as they arrive
  and the enclave releases the sum of the K seeds' masks when the buffer is full. Works with
  asynchronous FedBuff, tolerates any dropout (a dropped client never contributes its seed).

The protocol needs t = ceil(threshold·n) survivors; t > n/2 keeps the sum private against a
semi-honest server (Bonawitz et al., Theorem 6.3). Byte sizes below are assumptions of common
choices (X25519 keys, AES-GCM), see docs/simulator-privacy.md.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

KEY_BYTES = 32  # an X25519 public key
SHARE_BYTES = 32  # one Shamir share of a 256-bit secret
AEAD_BYTES = 28  # AES-GCM nonce (12) + tag (16)
ID_BYTES = 4  # a client index
ATTESTATION_BYTES = 5_000  # an enclave attestation quote with its certificate chain (SGX DCAP quotes are ~4-5 KB)
EXTRA_ROUND_TRIPS = {"bonawitz": 3, "bell": 3, "tee": 1}


@dataclass(frozen=True)
class SecAggCost:
    protocol: str
    plain_update_bytes: float  # the float32 update without SecAgg
    n: int  # clients in one protocol instance
    threshold: int  # t: survivors needed
    dropout_tolerance: int | None  # n - t; None = any number may drop (tee)
    neighbours: int  # clients each one exchanges keys and shares with
    masked_bits: int  # bits per masked coordinate
    upload_extra_bytes: float  # per client task, beyond the plain float32 update
    download_extra_bytes: float
    round_trips: int  # extra client-server round trips per task
    client_prg_bytes: float  # mask bytes a client expands
    server_prg_bytes: float  # mask bytes the aggregator (or enclave) expands per aggregation, worst-case dropouts
    server_reconstructions: int  # Shamir reconstructions per aggregation (t shares each)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def task_bytes(self) -> float:
        """Bytes one task moves each way on average: the simulator's tasks download and upload `update_bytes`."""
        return self.plain_update_bytes + (self.upload_extra_bytes + self.download_extra_bytes) / 2


def neighbours(protocol: str, n: int) -> int:
    """Clients each one shares keys with: all others (bonawitz), ceil(3·log2 n) of them (bell), none (tee)."""
    if protocol == "bonawitz":
        return n - 1
    if protocol == "bell":
        return min(n - 1, math.ceil(3 * math.log2(max(n, 2))))
    return 0


def masked_bits(bits: int, n: int) -> int:
    """Bits of one masked coordinate: b plus ceil(log2 n) so that the sum of n values does not wrap."""
    return bits + math.ceil(math.log2(max(n, 1))) if n > 1 else bits


def secagg_cost(protocol: str, n: int, threshold: float, bits: int, update_bytes: float) -> SecAggCost:
    """The cost of one protocol instance of n clients over updates of `update_bytes` float32 bytes."""
    if n < 1:
        raise ValueError("a protocol instance needs at least one client")
    coords = update_bytes / 4.0
    mbits = masked_bits(bits, n)
    masked = math.ceil(coords * mbits / 8)
    k = neighbours(protocol, n)
    t = max(1, math.ceil(threshold * n - 1e-9))
    if protocol == "tee":
        return SecAggCost(
            protocol, update_bytes, n, n, None, 0, mbits,
            upload_extra_bytes=masked - update_bytes + KEY_BYTES + AEAD_BYTES,  # the seed sealed to the enclave
            download_extra_bytes=ATTESTATION_BYTES + KEY_BYTES,
            round_trips=EXTRA_ROUND_TRIPS["tee"],
            client_prg_bytes=masked,
            server_prg_bytes=n * masked,  # the enclave expands each buffered seed once
            server_reconstructions=0,
        )  # fmt: skip
    share_ct = 2 * SHARE_BYTES + AEAD_BYTES + 2 * ID_BYTES  # the shares of s_u^SK and b_u for one neighbour
    dropped = n - t
    return SecAggCost(
        protocol, update_bytes, n, t, dropped, k, mbits,
        # AdvertiseKeys (2 keys), ShareKeys (k ciphertexts), masked input, Unmasking (one share per neighbour)
        upload_extra_bytes=2 * KEY_BYTES + k * share_ct + masked - update_bytes + k * SHARE_BYTES,
        # the neighbours' keys, their ciphertexts, the survivor list
        download_extra_bytes=k * 2 * KEY_BYTES + k * share_ct + n * ID_BYTES,
        round_trips=EXTRA_ROUND_TRIPS[protocol],
        client_prg_bytes=(k + 1) * masked,  # k pairwise masks and the self mask
        # the survivors' self masks, and each dropped client's pairwise masks with its surviving neighbours
        server_prg_bytes=(t + dropped * min(k, t)) * masked,
        server_reconstructions=n,
    )  # fmt: skip


def client_extra_seconds(cost: SecAggCost, rtt_s: float, prg_bytes_per_s: float) -> float:
    """Time SecAgg adds to a task beyond its bytes: the extra round trips and the client's mask expansion."""
    return cost.round_trips * rtt_s + cost.client_prg_bytes / prg_bytes_per_s


def server_seconds(cost: SecAggCost, prg_bytes_per_s: float) -> float:
    """Aggregator (or enclave) CPU seconds per aggregation for mask expansion, worst-case dropouts."""
    return cost.server_prg_bytes / prg_bytes_per_s
