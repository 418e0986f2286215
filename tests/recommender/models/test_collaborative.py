import numpy as np
import pytest
import scipy.sparse as sp
from synthetic_papers import NOW, TEST_CONFIG, make_interactions, make_papers

from recommender.interactions import build_matrix
from recommender.models.collaborative import ALSRecommender


@pytest.fixture(scope="module")
def data():
    users, items, types, times = zip(*make_interactions(), strict=True)
    return build_matrix(
        users,
        items,
        types,
        np.asarray(times, dtype=object),
        now=NOW,
        item_keys=[p.key for p in make_papers()],
    )


@pytest.fixture(scope="module")
def als(data):
    return ALSRecommender(**TEST_CONFIG["als"]).fit(data.matrix)


def test_fit_returns_self_and_learned_shapes(als, data):
    assert als.item_factors_.shape == (data.matrix.shape[1], 2)
    assert als.user_factors_.shape == (data.matrix.shape[0], 2)
    assert als.factors == 2  # hyper-parameters are stored verbatim


def test_own_group_items_rank_above_other_group(als, data):
    graph = np.array([data.items.get(f"g{i}") for i in range(12)])
    protein = np.array([data.items.get(f"p{i}") for i in range(12)])
    for user, own, other in (("a0", graph, protein), ("b3", protein, graph)):
        row = data.matrix[data.users.get(user)]
        x = als.fold_in(row.indices, row.data)
        assert als.score(x, own).mean() > als.score(x, other).mean() + 0.2
        top, _ = als.top_n(x, 6, exclude=row.indices)
        assert set(top.tolist()) <= set(own.tolist())
        assert not set(top.tolist()) & set(row.indices.tolist())


def test_fold_in_matches_implicit_recalculate_user(als, data):
    from implicit.cpu.als import AlternatingLeastSquares

    ref = AlternatingLeastSquares(factors=2, regularization=0.1, alpha=5.0)
    ref.item_factors, ref.user_factors = als.item_factors_, als.user_factors_
    row = data.matrix[2]
    np.testing.assert_allclose(als.fold_in(row.indices, row.data), ref.recalculate_user(2, row), rtol=1e-3, atol=1e-4)


def test_unknown_items_are_ignored_not_index_errors(als):
    n = als.n_items_
    x = als.fold_in(np.array([0, n + 5, -1]), np.array([5.0, 5.0, 5.0]))
    np.testing.assert_allclose(x, als.fold_in(np.array([0]), np.array([5.0])))
    assert als.fold_in(np.array([n + 1]), np.array([1.0])) is None
    s = als.score(x, np.array([0, n, n + 100]))
    assert np.isfinite(s[0]) and np.isnan(s[1:]).all()
    assert np.isnan(als.similar_items(0, np.array([n]))).all()
    with pytest.raises(ValueError, match="outside the model"):
        als.similar_items(n)


def test_rebuilt_from_factors_scores_identically(als):
    again = ALSRecommender.from_factors(als.item_factors_, **als.get_params())
    x = als.fold_in(np.array([1, 2]), np.array([3.0, 1.0]))
    np.testing.assert_array_equal(x, again.fold_in(np.array([1, 2]), np.array([3.0, 1.0])))


def test_bad_input():
    with pytest.raises(ValueError, match="scipy sparse"):
        ALSRecommender().fit(np.ones((2, 2)))
    with pytest.raises(ValueError, match="nothing to train on"):
        ALSRecommender(factors=2, iterations=1).fit(sp.csr_matrix((3, 3)))
    with pytest.raises(ValueError, match=">= 0"):
        ALSRecommender(factors=2, iterations=1).fit(sp.csr_matrix(np.array([[1.0, -1.0]])))
    with pytest.raises(ValueError, match="not fitted"):
        ALSRecommender().score(np.zeros(2), np.array([0]))
    with pytest.raises(ValueError, match="factors must be"):
        ALSRecommender(factors=0).fit(sp.csr_matrix(np.eye(2)))


def test_item_norm_power_ranks_by_the_cosine_of_user_and_item_factor():
    # item 0 has a long factor (a widely saved paper) pointing slightly off the user's direction
    factors = np.array([[3.0, 0.0], [0.9, 0.44], [0.0, 1.0], [0.0, 0.0]], dtype=np.float32)
    model = ALSRecommender.from_factors(factors, factors=2)
    x = np.array([1.0, 0.5], dtype=np.float32)
    items = np.arange(4)
    np.testing.assert_allclose(model.score(x, items), factors @ x, rtol=1e-6)
    cosine = model.score(x, items, item_norm_power=1.0)
    np.testing.assert_allclose(cosine[:3], (factors[:3] @ x) / np.linalg.norm(factors[:3], axis=1), rtol=1e-6)
    assert cosine[3] == 0.0  # an all-zero factor scores 0, not NaN
    assert model.top_n(x, 2)[0].tolist() == [0, 1]
    top, scores = model.top_n(x, 2, item_norm_power=1.0)
    assert top.tolist() == [1, 0]
    np.testing.assert_allclose(scores, cosine[[1, 0]], rtol=1e-6)
    # half the power ranks in between
    half = model.score(x, items, item_norm_power=0.5)
    np.testing.assert_allclose(half[:3], (factors[:3] @ x) / np.linalg.norm(factors[:3], axis=1) ** 0.5, rtol=1e-6)
    with pytest.raises(ValueError, match="item_norm_power must be >= 0"):
        model.score(x, items, item_norm_power=-1.0)
