"""Validation views carved from a TRAINING matrix only, for tuning without reading the published test.

Why the views look the way they do (the published split keeps popular items in training, so random holdouts
reward popularity far more than the test does) is recorded with the measurements in docs/tuning.md.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recommender.offline.datasets import lists_to_csr

View = tuple[sp.csr_matrix, sp.csr_matrix]  # (input, held_out), both users x items


def holdout_split(train: sp.csr_matrix, *, fraction: float = 0.25, min_keep: int = 1, seed: int = 0) -> View:
    """Carve a validation split out of a training matrix: per user, hold out ``fraction`` of the items
    (rounded, at least one when the user has more than ``min_keep`` items), keeping at least ``min_keep``.
    Returns (fit, validation). Only the training matrix is read."""
    rng = np.random.default_rng(seed)
    train = train.tocsr()
    fit_rows, val_rows = [], []
    for u in range(train.shape[0]):
        items = train.indices[train.indptr[u] : train.indptr[u + 1]].copy()
        rng.shuffle(items)
        n = len(items)
        k = int(round(n * fraction))
        if n > min_keep:
            k = max(1, min(k, n - min_keep))
        else:
            k = 0
        val_rows.append(np.sort(items[:k]))
        fit_rows.append(np.sort(items[k:]))
    return lists_to_csr(fit_rows, train.shape[1]), lists_to_csr(val_rows, train.shape[1])


def popular_first_split(train: sp.csr_matrix, *, keep: int = 3, seed: int = 0) -> View:
    """Per user, keep the ``keep`` training items that are most popular in ``train`` (ties broken at random)
    as input and hold out the rest. Only the training matrix is read."""
    train = train.tocsr()
    pop = np.asarray(train.sum(axis=0)).ravel()
    rng = np.random.default_rng(seed)
    fit_rows, val_rows = [], []
    for u in range(train.shape[0]):
        items = train.indices[train.indptr[u] : train.indptr[u + 1]]
        order = items[np.lexsort((rng.random(len(items)), -pop[items]))]
        fit_rows.append(np.sort(order[:keep]))
        val_rows.append(np.sort(order[keep:]))
    return lists_to_csr(fit_rows, train.shape[1]), lists_to_csr(val_rows, train.shape[1])


def validation_views(train: sp.csr_matrix, *, fraction: float = 0.3, seed: int = 0) -> dict[str, View]:
    """Validation splits carved from the TRAINING matrix only (each value is ``(input, held_out)``).

    ``mimic`` (stands in for the published P=10 test): per user, the ``fraction`` most popular training
    items (3 of 10) are the input and the other 7 are held out, so the held-out items are the less popular
    ones, as in the published split, and about half of the held-out pairs are cold for collaborative filtering.
    ``mimic7``: the same with the sizes swapped (the 7 most popular in, the 3 least popular held out): as many
    input items as the test users have, so ``mimic`` and ``mimic7`` bracket the test.
    ``dense``: a random ``fraction`` of the training items held out (3 of 10), the rest kept.
    ``sparse`` (stands in for P=1): the dense view's held-out items, ONE random kept item per user as input.
    """
    fit, val = holdout_split(train, fraction=fraction, seed=seed)
    counts = np.diff(train.tocsr().indptr)
    median = float(np.median(counts)) if len(counts) else 1.0
    keep = max(1, int(round(fraction * median)))
    keep_many = max(keep, int(median) - keep)
    return {
        "mimic": popular_first_split(train, keep=keep, seed=seed),
        "mimic7": popular_first_split(train, keep=keep_many, seed=seed),
        "dense": (fit, val),
        "sparse": (_one_item_per_user(fit, seed=seed + 1), val),
    }


def _one_item_per_user(fit: sp.csr_matrix, *, seed: int) -> sp.csr_matrix:
    """One random item of each row of ``fit`` (an empty row stays empty)."""
    rng = np.random.default_rng(seed)
    one = []
    for u in range(fit.shape[0]):
        items = fit.indices[fit.indptr[u] : fit.indptr[u + 1]]
        j = int(rng.integers(len(items))) if len(items) else 0
        one.append(items[j : j + 1])
    return lists_to_csr(one, fit.shape[1])


def cold_share(fit: sp.csr_matrix, held_out: sp.csr_matrix) -> float:
    """Share of held-out (user, item) pairs whose item no user has in ``fit`` (cold for CF)."""
    seen = np.asarray(fit.sum(axis=0)).ravel() > 0
    coo = held_out.tocoo()
    return float(np.mean(~seen[coo.col])) if coo.nnz else 0.0


def median_input_items(fit: sp.csr_matrix) -> int:
    """The median number of input items over the users that have any."""
    counts = np.diff(fit.tocsr().indptr)
    counts = counts[counts > 0]
    return int(np.median(counts)) if len(counts) else 0
