"""The tuning views are carved from the training matrix only and have the documented shapes."""

import numpy as np
import scipy.sparse as sp

from recommender.offline.views import cold_share, holdout_split, popular_first_split, validation_views


def _train(n_users=40, n_items=60, per_user=10, seed=3):
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, n_items + 1)  # skewed popularity
    rows = [np.sort(rng.choice(n_items, per_user, replace=False, p=p / p.sum())) for _ in range(n_users)]
    indptr = np.r_[0, np.cumsum([len(r) for r in rows])]
    return sp.csr_matrix((np.ones(indptr[-1], np.float32), np.concatenate(rows), indptr), shape=(n_users, n_items))


def test_views_partition_the_training_items():
    train = _train()
    views = validation_views(train, seed=0)
    assert set(views) == {"mimic", "mimic7", "dense", "sparse"}
    for name in ("mimic", "mimic7", "dense"):
        fit, val = views[name]
        assert fit.multiply(val).nnz == 0
        assert ((fit + val) != train).nnz == 0
    assert np.all(np.diff(views["mimic"][0].indptr) == 3)
    assert np.all(np.diff(views["mimic7"][0].indptr) == 7)  # as many inputs as the median user minus 3
    assert views["mimic7"][0].multiply(views["mimic"][1]).nnz > 0  # mimic7 also feeds in less popular items
    assert np.all(np.diff(views["dense"][1].indptr) == 3)
    sparse_fit, sparse_val = views["sparse"]
    assert np.all(np.diff(sparse_fit.indptr) == 1)
    assert sparse_fit.multiply(views["dense"][0]).nnz == sparse_fit.nnz
    assert (sparse_val != views["dense"][1]).nnz == 0


def test_mimic_keeps_each_users_most_popular_items():
    train = _train()
    pop = np.asarray(train.sum(axis=0)).ravel()
    fit, val = popular_first_split(train, keep=3, seed=0)
    for u in range(train.shape[0]):
        kept = fit.indices[fit.indptr[u] : fit.indptr[u + 1]]
        held = val.indices[val.indptr[u] : val.indptr[u + 1]]
        assert pop[kept].min() >= pop[held].max()
    assert 0.0 <= cold_share(fit, val) <= 1.0
    assert cold_share(train, train) == 0.0


def test_holdout_split_uses_only_training_items(p10):
    fit, val = holdout_split(p10.train, fraction=0.3, seed=0)
    assert fit.nnz + val.nnz == p10.train.nnz
    assert fit.multiply(val).nnz == 0
    assert (val.multiply(p10.test)).nnz == 0
    assert np.all(np.diff(fit.indptr) >= 1)
