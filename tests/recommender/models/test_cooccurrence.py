import numpy as np
import pytest
import scipy.sparse as sp

from recommender.models.cooccurrence import ItemCooccurrence

# The hyper-parameters these tests were written against (the packaged config's are the defaults now).
BASE_PARAMS = {"asymmetry": 0.3}


def make_model(**params):
    return ItemCooccurrence(**{**BASE_PARAMS, **params})


def _random_user_items(seed=0, users=60, items=25, density=0.2):
    rng = np.random.default_rng(seed)
    dense = (rng.random((users, items)) < density) * rng.uniform(0.5, 9.0, (users, items))
    dense[:, -1] = 0.0  # an item nobody has
    return sp.csr_matrix(dense)


def _brute_force(user_items, asymmetry, neighbours, reader_weights="none"):
    b = (user_items.toarray() > 0).astype(float)
    counts = b.sum(axis=0)
    w = np.ones(len(b))
    if reader_weights == "inverse_log":
        w = 1.0 / np.log2(1.0 + np.maximum(b.sum(axis=1), 1.0))
    co = (b * w[:, None]).T @ b
    np.fill_diagonal(co, 0.0)
    safe = np.maximum(counts, 1.0)
    sim = co / (safe[:, None] ** asymmetry * safe[None, :] ** (1.0 - asymmetry))
    for row in sim:
        if np.count_nonzero(row) > neighbours:
            row[np.argsort(-row, kind="stable")[neighbours:]] = 0.0
    return sim


@pytest.mark.parametrize("reader_weights", ["none", "inverse_log"])
@pytest.mark.parametrize("asymmetry", [0.0, 0.15, 0.5, 1.0])
def test_similarity_matches_the_definition(asymmetry, reader_weights):
    ui = _random_user_items()
    model = make_model(neighbours=1000, asymmetry=asymmetry, reader_weights=reader_weights).fit(ui)
    expected = _brute_force(ui, asymmetry, 1000, reader_weights)
    np.testing.assert_allclose(model.similarity_.toarray(), expected, rtol=1e-5)
    assert model.similarity_.diagonal().sum() == 0.0
    assert model.similarity_[:, -1].nnz == 0 and model.similarity_[-1].nnz == 0


def test_half_asymmetry_is_the_cosine_of_item_columns():
    ui = _random_user_items(seed=1)
    b = (ui.toarray() > 0).astype(float)
    norms = np.linalg.norm(b, axis=0)
    cos = (b.T @ b) / np.maximum(np.outer(norms, norms), 1e-12)
    np.fill_diagonal(cos, 0.0)
    sim = make_model(neighbours=1000, asymmetry=0.5, reader_weights="none").fit(ui).similarity_.toarray()
    np.testing.assert_allclose(sim, cos, rtol=1e-5, atol=1e-7)


def test_each_item_keeps_its_best_neighbours_whatever_the_block_size():
    ui = _random_user_items(seed=2, density=0.5)
    small = make_model(neighbours=4, asymmetry=0.15, max_block_pairs=1).fit(ui)  # one item per block
    large = make_model(neighbours=4, asymmetry=0.15).fit(ui)
    assert len(small._blocks(ui.T.tocsr(), ui)) == ui.shape[1]
    assert np.diff(small.similarity_.indptr).max() == 4
    np.testing.assert_allclose(small.similarity_.toarray(), large.similarity_.toarray(), rtol=1e-6)
    full = _brute_force(ui, 0.15, 1000, "inverse_log")
    for i in range(ui.shape[1]):
        kept = small.similarity_[i].toarray().ravel()
        if np.count_nonzero(full[i]) > 4:
            # nothing dropped scores above anything kept
            assert full[i][kept == 0].max() <= kept[kept > 0].min() + 1e-6


def test_a_widely_read_neighbour_is_discounted_below_the_cosine():
    # item 0: the user's paper, 3 readers; item 1: all 3 of them and 3 more; item 2: one of them, nobody else
    rows = [[0, 1, 2], [0, 1], [0, 1], [1], [1], [1]]
    ui = sp.csr_matrix(([1.0] * sum(map(len, rows)), ([u for u, r in enumerate(rows) for _ in r], sum(rows, []))))
    cos = make_model(asymmetry=0.5, reader_weights="none").fit(ui).catalog_scores(np.array([0]))
    low = make_model(asymmetry=0.0, reader_weights="none").fit(ui).catalog_scores(np.array([0]))
    assert cos[1] > cos[2]  # 3 shared readers against 1
    assert low[2] > low[1]  # but half of item 1's readers never read item 0


def test_a_reader_with_a_huge_library_does_not_crowd_out_real_neighbours():
    # 30 readers share papers 0-4; one account also opened paper 0 and 2,000 papers nobody else reads
    rng = np.random.default_rng(5)
    rows = [sorted(rng.choice(5, size=3, replace=False)) + ([0] if u % 2 else []) for u in range(30)]
    rows.append([0, *range(5, 2005)])
    ui = sp.csr_matrix(
        (
            [1.0] * sum(len(set(r)) for r in rows),
            ([u for u, r in enumerate(rows) for _ in set(r)], sum(map(list, map(set, rows)), [])),
        ),
        shape=(len(rows), 2005),
    )
    plain = make_model(neighbours=10, asymmetry=0.0, reader_weights="none").fit(ui)
    weighted = make_model(neighbours=10, asymmetry=0.0).fit(ui)
    assert set(plain.similarity_[0].indices) <= set(range(5, 2005))  # only the crawler's papers survive
    assert set(range(1, 5)) <= set(weighted.similarity_[0].indices)  # the papers read together stay


def test_scores_of_a_history_agree_across_entry_points():
    ui = _random_user_items(seed=3)
    model = make_model(neighbours=5, asymmetry=0.15).fit(ui)
    history = np.array([2, 5, 7])
    full = model.catalog_scores(history)
    np.testing.assert_allclose(full, model.similarity_[history].toarray().sum(axis=0), rtol=1e-6)
    # unknown indices (papers added after the fit) are ignored in the history and score 0 as candidates
    np.testing.assert_allclose(model.catalog_scores(np.array([2, 5, 7, -1, 999])), full)
    cand = np.array([0, 3, -1, 999, 11])
    np.testing.assert_allclose(model.score(full, cand), [full[0], full[3], 0.0, 0.0, full[11]])
    top = model.top_n(full, 4, exclude=history)
    assert len(top) <= 4 and not set(top) & set(history) and np.all(full[top] > 0)
    assert list(full[top]) == sorted(full[top], reverse=True)
    row = sp.csr_matrix((np.full(3, 8.0), (np.zeros(3, int), history)), shape=(1, ui.shape[1]))
    np.testing.assert_allclose(model.score_rows(row)[0], full, rtol=1e-6)
    # a history with no known item, or only items without neighbours, gives no scores at all
    assert model.catalog_scores(np.array([-1])) is None
    assert model.catalog_scores(np.array([ui.shape[1] - 1])) is None
    assert len(model.top_n(np.zeros(ui.shape[1]), 5)) == 0


def test_round_trip_through_the_similarity_matrix():
    ui = _random_user_items(seed=4)
    model = make_model(neighbours=3, asymmetry=0.3).fit(ui)
    np.testing.assert_array_equal(model.readers_, (ui.toarray() > 0).sum(axis=0))
    again = ItemCooccurrence.from_similarity(model.similarity_, model.readers_, **model.get_params())
    np.testing.assert_array_equal(again.catalog_scores(np.array([1, 4])), model.catalog_scores(np.array([1, 4])))
    items = np.array([0, 3, -1, 999])
    expected = np.r_[(1.0 + model.readers_[[0, 3]]) ** -0.25, 1.0, 1.0]
    np.testing.assert_allclose(again.popularity_weights(items, 0.25), expected, rtol=1e-6)
    # stored without reader counts: no discount at all
    bare = ItemCooccurrence.from_similarity(model.similarity_, **model.get_params())
    assert bare.readers_ is None and np.all(bare.popularity_weights(items, 0.25) == 1.0)
    with pytest.raises(ValueError, match="square"):
        ItemCooccurrence.from_similarity(sp.csr_matrix((3, 4)))
    with pytest.raises(ValueError, match="one count per item"):
        ItemCooccurrence.from_similarity(model.similarity_, np.ones(3))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"neighbours": 0}, "neighbours"),
        ({"neighbours": 2.5}, "neighbours"),
        ({"neighbours": True}, "neighbours"),
        ({"asymmetry": 1.5}, "asymmetry"),
        ({"asymmetry": -0.1}, "asymmetry"),
        ({"asymmetry": "0.3"}, "asymmetry"),
        ({"max_block_pairs": 0}, "max_block_pairs"),
        ({"reader_weights": "sqrt"}, "reader_weights"),
    ],
)
def test_bad_parameters_are_named(params, message):
    with pytest.raises(ValueError, match=message):
        make_model(**params).fit(_random_user_items())


def test_bad_input_and_unfitted_use():
    with pytest.raises(ValueError, match="sparse"):
        make_model().fit(np.ones((3, 3)))
    with pytest.raises(ValueError, match="not fitted"):
        make_model().catalog_scores(np.array([0]))
    model = make_model().fit(_random_user_items())
    with pytest.raises(ValueError, match="columns"):
        model.score_rows(sp.csr_matrix((1, 3)))


@pytest.mark.parametrize("reader_weights", ["none", "inverse_log"])
@pytest.mark.parametrize("max_block_pairs", [1, 10_000_000])
def test_support_counts_the_distinct_readers_of_each_kept_pair(reader_weights, max_block_pairs):
    ui = _random_user_items(seed=6, density=0.35)
    params = {"neighbours": 4, "asymmetry": 0.15, "reader_weights": reader_weights, "max_block_pairs": max_block_pairs}
    model = make_model(**params).fit(ui)
    b = (ui.toarray() > 0).astype(int)
    both = b.T @ b  # users with both items
    support, similarity = model.support_, model.similarity_
    assert np.array_equal(support.indptr, similarity.indptr) and np.array_equal(support.indices, similarity.indices)
    rows = np.repeat(np.arange(ui.shape[1]), np.diff(support.indptr))
    np.testing.assert_array_equal(support.data, both[rows, support.indices])
    assert support.data.min() >= 1
    # the similarity itself is what it was without the counts
    np.testing.assert_allclose(similarity.toarray(), _brute_force(ui, 0.15, 4, reader_weights), rtol=1e-5)
    np.testing.assert_array_equal(
        model.pair_support(np.array([0, 2]), np.array([1, 3])), support[[0, 2]][:, [1, 3]].toarray()
    )
    again = ItemCooccurrence.from_similarity(similarity, model.readers_, support.data, **model.get_params())
    assert (again.support_ != support).nnz == 0
    assert ItemCooccurrence.from_similarity(similarity, **model.get_params()).pair_support([0], [1]) is None
    with pytest.raises(ValueError, match="one count per pair"):
        ItemCooccurrence.from_similarity(similarity, None, support.data[:-1])


def test_history_scores_are_the_catalog_scores_without_the_zeros():
    rng = np.random.default_rng(4)
    ui = sp.csr_matrix((rng.random((40, 30)) < 0.2).astype(np.float32))
    model = make_model(neighbours=5).fit(ui)
    for history in (np.array([0, 3, 7]), np.array([2, -1, 999]), np.array([11])):
        full, sparse = model.catalog_scores(history), model.history_scores(history)
        if full is None:
            assert sparse is None
            continue
        np.testing.assert_allclose(model.score(sparse, np.arange(30)), full, rtol=1e-6)
        assert set(sparse.items.tolist()) == set(np.flatnonzero(full).tolist())
        exclude = np.array([1, 4])
        assert model.top_n(sparse, 6, exclude=exclude).tolist() == model.top_n(full, 6, exclude=exclude).tolist()


def test_ties_at_the_cut_keep_the_lower_columns():
    # one reader of papers 0..5: every pair counts the same, so each paper keeps its two lowest neighbours
    model = make_model(neighbours=2).fit(sp.csr_matrix(np.ones((1, 6), dtype=np.float32)))
    kept = [model.similarity_[i].indices.tolist() for i in range(6)]
    assert kept == [[1, 2], [0, 2], [0, 1], [0, 1], [0, 1], [0, 1]]
