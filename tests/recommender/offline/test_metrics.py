"""Recall and NDCG: known values of the per-list form, and the vectorised form agrees with it."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.offline.metrics import (
    NDCG_KS,
    RECALL_KS,
    hits_matrix,
    mean_metrics,
    ndcg_at_k,
    ranking_metrics,
    recall_at_k,
    recall_sums,
    top_k_excluding,
)


def test_recall_and_ndcg_known_values():
    assert recall_at_k([1, 2, 3], {2, 9}, 2) == 0.5
    assert ndcg_at_k([1, 2, 3], {1}, 3) == 1.0
    assert ndcg_at_k([5, 1], {1}, 2) == pytest.approx(1 / math.log2(3))
    assert recall_at_k([1], set(), 5) == 0.0
    out = mean_metrics([([1, 2], {1}), ([3], {4}), ([1], set())], 2)
    assert out["recall@2"] == 0.5 and out["users"] == 2
    with pytest.raises(ValueError, match="k must be"):
        recall_at_k([1], {1}, 0)


def test_vectorised_metrics_match_library_metrics():
    rng = np.random.default_rng(3)
    n_users, n_items = 40, 500
    scores = rng.random((n_users, n_items)).astype(np.float32)
    train = sp.random(n_users, n_items, density=0.02, format="csr", random_state=1)
    test = sp.random(n_users, n_items, density=0.05, format="csr", random_state=2)
    test = (test - test.multiply(train.astype(bool))).tocsr()
    test.eliminate_zeros()
    keep = np.diff(test.indptr) > 0
    top = top_k_excluding(scores.copy(), train, 300)
    m = ranking_metrics(hits_matrix(top, test), np.diff(test.indptr))
    for u in np.flatnonzero(keep):
        rel = test.indices[test.indptr[u] : test.indptr[u + 1]]
        assert not set(top[u]) & set(train.indices[train.indptr[u] : train.indptr[u + 1]])
        for k in RECALL_KS:
            assert m[f"recall@{k}"][u] == pytest.approx(recall_at_k(top[u].tolist(), rel.tolist(), k))
        for k in NDCG_KS:
            assert m[f"ndcg@{k}"][u] == pytest.approx(ndcg_at_k(top[u].tolist(), rel.tolist(), k))


@pytest.mark.parametrize("levels", [None, 4])
def test_recall_sums_count_what_the_sorted_top_k_holds(levels):
    """Without sorting, the same Recall@K sums as ranking by top_k_excluding (ties included: few score levels)."""
    rng = np.random.default_rng(5)
    scores = rng.random((40, 300)).astype(np.float32)
    if levels:
        scores = np.floor(scores * levels).astype(np.float32)
    exclude = sp.csr_matrix(rng.random((40, 300)) < 0.05)
    held = sp.csr_matrix((rng.random((40, 300)) < 0.08) & ~exclude.toarray())
    ks = (5, 20, 100, 300, 400)
    hits = hits_matrix(top_k_excluding(scores.copy(), exclude, 400), held)
    n = np.maximum(np.diff(held.indptr), 1)[:, None]
    expected = [(hits[:, :k].sum(axis=1, keepdims=True) / n).sum() for k in ks]
    np.testing.assert_allclose(recall_sums(scores.copy(), exclude, held, ks), expected, rtol=1e-12)
