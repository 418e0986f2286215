"""The one blend both paths use: requests (one row over the candidates) and batches (every item per user)."""

import copy

import numpy as np
import scipy.sparse as sp

from recommender.config import Config
from recommender.serving.blend import blend, scale


def test_scale_zeroes_missing_and_negative_values_and_divides_by_the_row_maximum():
    out = scale(np.array([[2.0, -1.0, np.nan, 4.0], [0.0, 0.0, 0.0, 0.0]]))
    np.testing.assert_array_equal(out, [[0.5, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0]])
    excluded = scale(np.array([[2.0, 8.0, 4.0]]), exclude=(np.array([0]), np.array([1])))
    np.testing.assert_array_equal(excluded, [[0.5, 0.0, 1.0]])
    assert scale(np.zeros((1, 0))).shape == (1, 0)


def test_blend_renormalises_over_available_components_and_falls_back_to_equal_weights():
    raw = {"cf": np.array([[1.0, 0.5]]), "text": np.array([[0.0, 1.0]])}
    weights = {"cf": np.array([[3.0]]), "text": np.array([[1.0]])}
    scaled = {}
    score, used = blend(raw, weights, (1, 2), dtype=np.float64, scaled=scaled)
    np.testing.assert_allclose(score, [[0.75, 0.375 + 0.25]])
    assert set(scaled) == {"cf", "text"} and used["cf"][0, 0] == 3.0
    zero = {"cf": np.array([[0.0]]), "text": np.array([[0.0]])}
    score, used = blend(raw, zero, (1, 2), dtype=np.float64)
    np.testing.assert_allclose(score, [[0.5, 0.75]])  # only zero weights: equally weighted
    assert used["cf"][0, 0] == used["text"][0, 0] == 1.0
    empty, _ = blend({}, {}, (2, 3))
    assert empty.shape == (2, 3) and not empty.any()


def test_a_request_scores_its_candidates_as_the_batch_path_scores_the_catalog(model):
    """On a catalog small enough that every other paper is a candidate, both paths scale over the same items,
    so the one blend gives the same scores (float64 per request, float32 per batch)."""
    raw_config = model.config_.to_dict()
    weights = {"cf": 0.5, "cooccurrence": 0.5, "text": 0.0, "trend": 0.0, "cf_item_norm": 1.0}
    raw_config["blend"] = {**weights, "popularity_discount": 0.1}
    raw_config["blend_long_history"] = {"min_items": 0, **weights, "popularity_discount": 0.1}
    same = copy.copy(model)
    same.config_ = Config.from_dict(raw_config)
    items, conf = same.item_ids_.lookup(["g0", "g1"]), np.array([8.0, 1.0])
    state = same.user_state_for_row(items, conf, items[:1])
    recs = same.rank(state, n=same.n_items, trending={}, with_reasons=False)
    assert len(recs) == same.n_items - 2 and {r.key for r in recs}.isdisjoint({"g0", "g1"})
    row = sp.csr_matrix((conf.astype(np.float32), (np.zeros(2, int), items)), shape=(1, same.n_items))
    batch = same.score_matrix(row)[0]
    got = {r.key: r.score for r in recs}
    want = {str(same.item_ids_.keys[i]): float(batch[i]) for i in range(same.n_items) if i not in items}
    assert got.keys() == want.keys()
    np.testing.assert_allclose([got[k] for k in want], list(want.values()), rtol=1e-5, atol=1e-7)
    assert max(got.values()) > 0
