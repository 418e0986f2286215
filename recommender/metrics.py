"""Ranking metrics for implicit feedback (binary relevance), shared by training and the evaluation harness."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

import numpy as np


def _check_k(k: int) -> int:
    if int(k) < 1:
        raise ValueError(f"k must be >= 1, got {k!r}")
    return int(k)


def recall_at_k(recommended: Sequence, relevant: Collection, k: int) -> float:
    """|top-k ∩ relevant| / |relevant| (0.0 when nothing is relevant)."""
    k = _check_k(k)
    relevant = set(relevant)
    if not relevant:
        return 0.0
    hits = sum(1 for item in list(recommended)[:k] if item in relevant)
    return hits / len(relevant)


def ndcg_at_k(recommended: Sequence, relevant: Collection, k: int) -> float:
    """Binary-gain NDCG@k with log2 discounts; the ideal ranks min(k, |relevant|) hits first."""
    k = _check_k(k)
    relevant = set(relevant)
    if not relevant:
        return 0.0
    top = list(recommended)[:k]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = float(sum(discounts[i] for i, item in enumerate(top) if item in relevant))
    idcg = float(discounts[: min(k, len(relevant))].sum())
    return dcg / idcg


def mean_metrics(rankings: Iterable[tuple[Sequence, Collection]], k: int) -> dict[str, float]:
    """Mean Recall@k and NDCG@k over (recommended, relevant) pairs, skipping users with nothing relevant."""
    k = _check_k(k)
    recalls, ndcgs = [], []
    for recommended, relevant in rankings:
        if not relevant:
            continue
        recalls.append(recall_at_k(recommended, relevant, k))
        ndcgs.append(ndcg_at_k(recommended, relevant, k))
    if not recalls:
        return {f"recall@{k}": 0.0, f"ndcg@{k}": 0.0, "users": 0}
    return {f"recall@{k}": float(np.mean(recalls)), f"ndcg@{k}": float(np.mean(ndcgs)), "users": len(recalls)}
