import math

import pytest

from recommender.metrics import mean_metrics, ndcg_at_k, recall_at_k


def test_recall_and_ndcg_known_values():
    assert recall_at_k([1, 2, 3], {2, 9}, 2) == 0.5
    assert ndcg_at_k([1, 2, 3], {1}, 3) == 1.0
    assert ndcg_at_k([5, 1], {1}, 2) == pytest.approx(1 / math.log2(3))
    assert recall_at_k([1], set(), 5) == 0.0
    out = mean_metrics([([1, 2], {1}), ([3], {4}), ([1], set())], 2)
    assert out["recall@2"] == 0.5 and out["users"] == 2
    with pytest.raises(ValueError, match="k must be"):
        recall_at_k([1], {1}, 0)
