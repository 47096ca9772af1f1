"""Pure maths of the simulator: task duration, staleness weights, FedAvg / FedBuff aggregation, lr schedules.

No I/O, no global state; works on numpy arrays or torch tensors alike.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def task_duration(t_per_example_s, epochs: int, records, update_bytes: float, bandwidth_bytes_per_s):
    """The paper's taskDuration(k) = t·E·|Dk| + 2·M/N: local training plus model download and update upload.

    t: seconds per example; E: local epochs; |Dk|: the client's records; M: update bytes; N: bytes/s.
    Scalars or numpy arrays (broadcast).
    """
    return t_per_example_s * epochs * records + 2.0 * update_bytes / bandwidth_bytes_per_s


def mbit_to_bytes_per_s(mbit_per_s):
    return np.asarray(mbit_per_s) * 1e6 / 8.0


def staleness_weight(staleness):
    """FedBuff's down-weighting of an update computed on a model `staleness` versions old: 1/sqrt(1+τ)."""
    return 1.0 / np.sqrt(1.0 + np.asarray(staleness, dtype=float))


def fedavg_weights(records: Sequence[float]) -> np.ndarray:
    """FedAvg weights |Dk| / Σ|Dj|."""
    w = np.asarray(records, dtype=float)
    return w / w.sum()


def fedbuff_weights(staleness: Sequence[int], buffer_size: int) -> np.ndarray:
    """FedBuff weights 1/sqrt(1+τ_i) / K: the buffer's weighted deltas are summed and divided by K."""
    return staleness_weight(staleness) / buffer_size


def fedavg_delta(deltas, records: Sequence[float]):
    """FedAvg: the client deltas (rows) averaged with weights |Dk| / Σ|Dj|."""
    return _weighted_sum(deltas, fedavg_weights(records))


def fedbuff_delta(deltas, staleness: Sequence[int], buffer_size: int):
    """FedBuff: Σ 1/sqrt(1+τ_i) · Δ_i over the buffer, divided by the buffer size K."""
    return _weighted_sum(deltas, fedbuff_weights(staleness, buffer_size))


def _weighted_sum(deltas, weights):
    if isinstance(deltas, np.ndarray):
        return weights @ deltas
    import torch

    return torch.as_tensor(weights, dtype=deltas.dtype) @ deltas


def apply_server_step(global_params, delta, server_lr: float):
    """The server optimizer (plain SGD on the pseudo-gradient -delta): w <- w + η_s · Δ."""
    return global_params + server_lr * delta


def client_lr(base: float, schedule: str, aggregation: int, total: int, step_every: int = 50, gamma: float = 0.5) -> float:
    """The client learning rate at aggregation number `aggregation` (0-based)."""
    if schedule == "constant":
        return base
    if schedule == "cosine":
        return base * 0.5 * (1.0 + math.cos(math.pi * min(aggregation, total) / max(total, 1)))
    if schedule == "step":
        return base * gamma ** (aggregation // max(step_every, 1))
    raise ValueError(f"unknown lr schedule {schedule!r}")
