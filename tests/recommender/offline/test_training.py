import logging
from datetime import timedelta

import numpy as np
import pytest
import scipy.sparse as sp
from synthetic_papers import NOW, TEST_CONFIG

from recommender.models import ALSRecommender
from recommender.offline.stages import InteractionColumns
from recommender.offline.training import holdout_split, train
from recommender.serving import HistoryEvent, PaperDoc


def test_train_reports_metrics_and_counts(trained):
    m = trained.metrics
    assert set(m["hybrid"]) == {"recall@20", "ndcg@20", "users"}
    assert m["hybrid"]["users"] == 30
    # Two clean communities: personalisation must beat global popularity on the held-out saves.
    assert m["hybrid"]["ndcg@20"] > m["trending"]["ndcg@20"]
    c = trained.counts
    assert c["papers"] == 24 and c["users"] == 30 and c["positive_pairs"] == 180
    assert trained.model.blend_weights == trained.config["blend"]


def test_nothing_to_train_on(papers):
    with pytest.raises(ValueError, match="nothing to train on: no papers"):
        train([], [("u", "g1", "save", NOW)])
    with pytest.raises(ValueError, match="nothing to train on: no positive interactions"):
        train(papers, [("u", "g1", "dismiss", NOW), ("u", "zz", "save", NOW)])
    with pytest.raises(ValueError, match="duplicate paper keys"):
        train([PaperDoc("a", "x"), PaperDoc("a", "y")], [("u", "a", "save", NOW)])
    with pytest.raises(ValueError, match="tuples"):
        train(papers, [("u", "g1", "save")])
    with pytest.raises(ValueError, match="unknown config key 'als.factor'"):
        train(papers, [("u", "g1", "save", NOW)], config={"als": {"factor": 3}})


def test_catalog_without_interactions_trains_a_text_only_model(papers):
    result = train(papers, [], config=TEST_CONFIG, now=NOW)
    assert result.model.als_ is None and result.counts["interactions"] == 0
    saved = papers[0].key
    recs = result.model.recommend([HistoryEvent(saved, "save", NOW)], n=3)
    assert recs and saved not in {r.key for r in recs}
    assert all(r.components["cf"] == 0 for r in recs)
    assert any(reason.startswith("Similar to") for r in recs for reason in r.reasons)


def test_tiny_training_set_without_holdout_still_trains(papers):
    rows = [("u", "g1", "save", NOW - timedelta(days=1))]
    result = train(papers, rows, config=TEST_CONFIG, now=NOW, progress=True)
    assert "hybrid" not in result.metrics
    assert result.model.recommend([], n=2, trending={"g1": 1.0}) != []


def test_holdout_split_hides_a_fraction_per_user():
    rng = np.random.default_rng(0)
    m = sp.random(50, 40, density=0.2, format="csr", random_state=rng) + sp.eye(50, 40, format="csr")
    train_m, test_m = holdout_split(m, 0.2, random_state=1)
    assert abs(train_m + test_m - m).sum() < 1e-6
    lengths = np.diff(sp.csr_matrix(m).indptr)
    held = np.diff(test_m.indptr)
    assert np.all(held[lengths >= 2] >= 1)
    assert np.all(held[lengths < 2] == 0)
    assert np.all(held <= np.maximum(1, np.floor(lengths * 0.2)))
    with pytest.raises(ValueError, match="fraction"):
        holdout_split(m, 1.5)


def test_train_reports_seconds_per_stage(trained):
    stages = {"matrix", "text", "holdout_split", "holdout_als", "holdout_evaluate", "als", "cooccurrence", "cold_start"}
    assert stages <= set(trained.seconds)
    assert all(v >= 0 for v in trained.seconds.values())


def test_columns_give_the_same_model_as_tuples(papers, interactions):
    keys = [p.key for p in papers]
    users = sorted({u for u, *_ in interactions})
    # integer user ids, as the server reads them: the same users in the same (string) order
    number = {u: 100 + i for i, u in enumerate(users)}
    columns = InteractionColumns(
        users=np.array([number[u] for u, *_ in interactions], dtype=np.int64),
        items=np.array([keys.index(k) for _, k, *_ in interactions], dtype=np.int64),
        types=np.array([t for *_, t, _ in interactions]),
        times=np.array([at.timestamp() for *_, at in interactions]),
    )
    renamed = [(number[u], k, t, at) for u, k, t, at in interactions]
    a = train(papers, renamed, config=TEST_CONFIG, now=NOW)
    b = train(papers, columns, config=TEST_CONFIG, now=NOW)
    assert a.counts == b.counts and a.metrics == b.metrics
    np.testing.assert_allclose(a.model.als_.item_factors_, b.model.als_.item_factors_, rtol=1e-5, atol=1e-6)
    assert a.model.user_keys_.tolist() == b.model.user_keys_.tolist()


def test_warm_start_needs_the_same_shape(trained):
    data = sp.random(5, trained.model.n_items, density=0.5, format="csr", random_state=0)
    als = ALSRecommender(factors=2, iterations=2, random_state=0, feature_weight=0.0)
    cold = ALSRecommender(factors=2, iterations=2, random_state=0, feature_weight=0.0).fit(data)
    with pytest.raises(ValueError, match="keep_state"):
        als.fit(data, warm_start=cold)
    kept = ALSRecommender(factors=2, iterations=2, random_state=0, feature_weight=0.0).fit(data, keep_state=True)
    with pytest.raises(ValueError, match="same shape"):
        als.fit(sp.vstack([data, data]).tocsr(), warm_start=kept)
    assert als.fit(data, warm_start=kept, iterations=1).item_factors_.shape == kept.item_factors_.shape


def test_only_the_served_model_gets_a_candidate_index(papers, interactions, caplog):
    """The holdout model ranks exactly (its index would cost more than it saves); the served model has one."""
    pytest.importorskip("usearch")
    config = {**TEST_CONFIG, "candidates": {"ann_min_items": 0}}
    with caplog.at_level(logging.INFO, logger="recommender.serving.candidate_index"):
        result = train(papers, interactions, config=config, now=NOW)
    assert result.model.candidate_index_ is not None
    assert sum("built the ALS candidate index" in r.getMessage() for r in caplog.records) == 1
