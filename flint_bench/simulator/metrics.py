"""Model-quality metrics per task kind. Pure functions on tensors/arrays."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def aupr(scores: ArrayLike, labels: ArrayLike) -> float:
    """Area under the precision-recall curve (average precision, the step-wise sum used by sklearn)."""
    s = np.asarray(scores, dtype=float).ravel()
    y = np.asarray(labels, dtype=float).ravel() > 0.5
    positives = y.sum()
    if positives == 0:
        return float("nan")
    order = np.argsort(-s, kind="stable")
    y = y[order]
    tp = np.cumsum(y)
    precision = tp / np.arange(1, len(y) + 1)
    return float((precision * y).sum() / positives)


def ndcg(scores: ArrayLike, relevance: ArrayLike, k: int | None = None) -> float:
    """Mean NDCG@k over rows: each row is one query's candidate list."""
    s = np.atleast_2d(np.asarray(scores, dtype=float))
    r = np.atleast_2d(np.asarray(relevance, dtype=float))
    k = k or s.shape[1]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ranked = np.take_along_axis(r, np.argsort(-s, axis=1, kind="stable"), axis=1)[:, :k]
    ideal = -np.sort(-r, axis=1)[:, :k]
    dcg = ((2**ranked - 1) * discounts).sum(axis=1)
    idcg = ((2**ideal - 1) * discounts).sum(axis=1)
    valid = idcg > 0
    return float((dcg[valid] / idcg[valid]).mean()) if valid.any() else float("nan")


def accuracy(logits: ArrayLike, labels: ArrayLike) -> float:
    return float((np.asarray(logits).argmax(axis=1) == np.asarray(labels)).mean())


def evaluate(task: str, predictions: ArrayLike, labels: ArrayLike) -> dict[str, float]:
    """The metric(s) a task is judged by; keys name the metric."""
    p, y = np.asarray(predictions), np.asarray(labels)
    if task == "binary":
        return {"aupr": aupr(p, y)}
    if task == "ranking":
        return {"ndcg": ndcg(p, y)}
    if task == "multitask":
        per_task = [aupr(p[:, i], y[:, i]) for i in range(y.shape[1])]
        return {"aupr": float(np.nanmean(per_task))} | {f"aupr_task{i}": v for i, v in enumerate(per_task)}
    if task == "multiclass":
        return {"accuracy": accuracy(p, y)}
    raise ValueError(f"unknown task kind {task!r}")


PRIMARY_METRIC = {"binary": "aupr", "ranking": "ndcg", "multitask": "aupr", "multiclass": "accuracy"}
