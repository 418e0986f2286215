"""Ranking metrics for implicit feedback (binary relevance): one implementation, two forms.

The vectorised form (:func:`top_k_excluding`, :func:`hits_matrix`, :func:`ranking_metrics`,
:func:`covered_items`) scores a batch of users at once and is what the evaluation runner uses; the per-list
form (:func:`recall_at_k`, :func:`ndcg_at_k`, :func:`mean_metrics`) scores Python lists, as the training
holdout does, by running the same vectorised code on one list.

Recall@K = |top-K ∩ relevant| / |relevant|; NDCG@K with binary gains and log2 discounts, the ideal ranking
putting min(K, |relevant|) hits first; catalog coverage@K = share of the catalog in at least one top-K.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

import numpy as np
import scipy.sparse as sp

# the cutoffs the published citeulike protocol reports (docs/evaluation.md)
RECALL_KS = (20, 50, 100, 300)
NDCG_KS = (20, 50, 100)
COVERAGE_K = 50


# ---------------------------------------------------------------------------------------------- vectorised
def top_k_excluding(scores: np.ndarray, exclude: sp.csr_matrix, k: int) -> np.ndarray:
    """Row-wise indices of the ``k`` best scores (descending), with ``exclude``'s entries never chosen.

    ``scores`` is modified in place (excluded entries set to -inf). Ties break by lower item index.
    """
    scores = np.asarray(scores)
    r, c = exclude.nonzero()
    scores[r, c] = -np.inf
    scores[~np.isfinite(scores)] = -np.inf
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    part.sort(axis=1)  # index order first, so the stable sort below breaks ties by item index
    vals = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def recall_sums(
    scores: np.ndarray,
    exclude: sp.csr_matrix,
    held: sp.csr_matrix,
    ks: Sequence[int],
    *,
    n_relevant: np.ndarray | None = None,
) -> np.ndarray:
    """Sum over the rows of Recall@K for each K of ``ks``: what ranking each row by ``scores`` (``exclude``'s
    entries never chosen, ties by the lower item index, as :func:`top_k_excluding`) and counting ``held``'s
    items in the first K gives, without sorting. ``n_relevant``: each row's relevant items when ``held`` holds
    only those ``scores`` covers (default: ``held``'s own). ``scores`` is modified in place."""
    scores = np.asarray(scores)
    r, c = exclude.nonzero()
    scores[r, c] = -np.inf
    scores[~np.isfinite(scores)] = -np.inf
    kth = [min(int(k), scores.shape[1]) - 1 for k in ks]
    # the K-th best score of each row: a held-out item above it is in the first K, below it is not. One pass
    # over the row finds its best max(K) (unordered), the smaller K's cuts are found among those
    best = np.partition(-scores, max(kth), axis=1)[:, : max(kth) + 1]  # negated
    cut = -np.partition(best, kth, axis=1)[:, kth]
    held = sp.csr_matrix(held)
    rows = np.repeat(np.arange(held.shape[0]), np.diff(held.indptr))
    value = scores[rows, held.indices]
    inside = value[:, None] > cut[rows]
    for p, j in zip(*np.nonzero(value[:, None] == cut[rows]), strict=True):  # a tie at the cut: its exact rank
        row, item = scores[rows[p]], held.indices[p]
        rank = np.count_nonzero(row > value[p]) + np.count_nonzero(row[:item] == value[p])
        inside[p, j] = rank < kth[j] + 1
    n = np.maximum(np.diff(held.indptr) if n_relevant is None else n_relevant, 1)[rows]
    return (inside / n[:, None]).sum(axis=0)


def hits_matrix(top: np.ndarray, relevant: sp.csr_matrix) -> np.ndarray:
    """Boolean (users x k): whether each ranked item is relevant for that user."""
    rel = relevant.tocsr()
    out = np.zeros(top.shape, dtype=bool)
    for j in range(top.shape[0]):
        items = rel.indices[rel.indptr[j] : rel.indptr[j + 1]]
        if len(items):
            out[j] = np.isin(top[j], items)
    return out


def ranking_metrics(
    hits: np.ndarray,
    n_relevant: Sequence[int] | np.ndarray,
    *,
    recall_ks: Sequence[int] = RECALL_KS,
    ndcg_ks: Sequence[int] = NDCG_KS,
) -> dict[str, np.ndarray]:
    """Per-user Recall@K and NDCG@K arrays from a hits matrix (users x max K) and |relevant| per user
    (every user must have at least one relevant item)."""
    n_relevant = np.asarray(n_relevant, dtype=np.float64)
    cum = np.cumsum(hits, axis=1)
    out: dict[str, np.ndarray] = {}
    for k in recall_ks:
        out[f"recall@{k}"] = cum[:, k - 1] / n_relevant
    if not ndcg_ks:
        return out
    disc = 1.0 / np.log2(np.arange(2, hits.shape[1] + 2))
    dcg = np.cumsum(hits * disc, axis=1)  # the gains of ranks 1..K added in rank order
    ideal = np.array([disc[:m].sum() for m in range(1, max(ndcg_ks) + 1)])  # ideal[m - 1]: m hits first
    for k in ndcg_ks:
        out[f"ndcg@{k}"] = dcg[:, k - 1] / ideal[np.minimum(n_relevant.astype(np.int64), k) - 1]
    return out


def covered_items(top: np.ndarray, k: int = COVERAGE_K) -> np.ndarray:
    """The distinct items in the first ``k`` columns of ranked lists; coverage@k is their share of the catalog
    once every evaluated user's list has been seen."""
    return np.unique(top[:, :k])


# ---------------------------------------------------------------------------------------------- per list
def _check_k(k: int) -> int:
    if int(k) < 1:
        raise ValueError(f"k must be >= 1, got {k!r}")
    return int(k)


def _list_metric(recommended: Sequence, relevant: Collection, k: int, metric: str) -> float:
    """``metric`` ("recall" or "ndcg") at ``k`` of one ranked list, through :func:`ranking_metrics`
    (0.0 when nothing is relevant)."""
    k = _check_k(k)
    relevant = set(relevant)
    if not relevant:
        return 0.0
    hits = np.zeros((1, k), dtype=bool)
    top = list(recommended)[:k]
    hits[0, : len(top)] = [item in relevant for item in top]
    cutoffs = {"recall_ks": (k,), "ndcg_ks": ()} if metric == "recall" else {"recall_ks": (), "ndcg_ks": (k,)}
    return float(ranking_metrics(hits, [len(relevant)], **cutoffs)[f"{metric}@{k}"][0])


def recall_at_k(recommended: Sequence, relevant: Collection, k: int) -> float:
    """|top-k ∩ relevant| / |relevant| (0.0 when nothing is relevant)."""
    return _list_metric(recommended, relevant, k, "recall")


def ndcg_at_k(recommended: Sequence, relevant: Collection, k: int) -> float:
    """Binary-gain NDCG@k with log2 discounts; the ideal ranks min(k, |relevant|) hits first."""
    return _list_metric(recommended, relevant, k, "ndcg")


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
