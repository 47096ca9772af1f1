"""The `[privacy.dp]` and `[privacy.secagg]` config tables (both optional; absent = off)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ...core.config import Annotated, Ge, Gt, Le, Lt


@dataclass
class DP:
    """DP-FedAvg / DP-FedBuff: clip every client's update to `clip_norm`, add Gaussian noise of std z·C."""

    noise_multiplier: Annotated[float, Ge(0), Le(1_000)] = 1.0  # z; 0 = clipping only (no guarantee)
    clip_norm: Annotated[float, Gt(0), Le(1e9)] = 1.0  # C, the L2 bound of one client's model delta
    delta: Annotated[float, Gt(0), Lt(1)] = 1e-5  # ε is reported at this δ
    # central: noise once on the sum (trusted server or SecAgg); local: noise on each client's update
    mode: Literal["central", "local"] = "central"


@dataclass
class SecAgg:
    """Secure aggregation as a cost model: extra bytes, round trips and aggregator work per task."""

    # bonawitz: Bonawitz et al. 2017 (all pairs); bell: Bell et al. 2020 (O(log n) neighbours);
    # tee: the buffered SecAgg in a trusted enclave that works with FedBuff (paper 3.6, Huba et al. 2022)
    protocol: Literal["bonawitz", "bell", "tee"] = "bonawitz"
    threshold: Annotated[float, Gt(0.5), Le(1)] = 0.67  # t / n: the share of the cohort that must survive
    bits: Annotated[int, Ge(1), Le(64)] = 32  # bits per quantised update coordinate before masking
    rtt_s: Annotated[float, Ge(0), Le(600)] = 0.15  # one client-server round trip (an assumption)
    # PRG (AES-CTR / ChaCha) throughput that expands masks, bytes/s (an assumption)
    prg_bytes_per_s: Annotated[float, Gt(0), Le(1e13)] = 1e9


@dataclass
class Privacy:
    dp: DP | None = None
    secagg: SecAgg | None = None
