"""ALS with text pseudo-users (als.feature_weight) and the batch scorer used by the harness."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recommender.models.collaborative import ALSRecommender


def test_feature_weight_links_items_without_users():
    # items 0,1 share a feature; no user connects them
    ui = sp.csr_matrix(np.array([[1, 0, 0, 1], [0, 1, 1, 0], [1, 0, 0, 1]], dtype=np.float32))
    feats = sp.csr_matrix(np.array([[1, 0], [1, 0], [0, 1], [0, 1]], dtype=np.float32))
    m = ALSRecommender(factors=4, iterations=10, alpha=5.0, regularization=0.1, feature_weight=5.0)
    m.fit(ui, item_features=feats)
    assert m.user_factors_.shape == (3, 4) and m.item_factors_.shape == (4, 4)
    assert m.get_params()["feature_weight"] == 5.0
    plain = ALSRecommender(factors=4, iterations=10, alpha=5.0, regularization=0.1).fit(ui, item_features=feats)
    assert plain.user_factors_.shape == (3, 4)
    u = m.fold_in(np.array([0]), np.array([1.0]))
    assert np.isfinite(m.score(u, np.arange(4))).all()
