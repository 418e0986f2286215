"""The ANN candidate index: with it forced on (threshold 0, a wide search) a request returns what exact scoring
returns; it survives the store round trip; versions without it load and serve exactly."""

import copy
import json
import sys
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from synthetic_papers import NOW, TEST_CONFIG

from recommender import store
from recommender.config import merge_config
from recommender.models import ALSRecommender
from recommender.models.ann import VectorIndex
from recommender.offline.training import train
from recommender.serving import HistoryEvent, candidate_index
from recommender.store_arrays import to_npz_layout

pytest.importorskip("usearch")

# few candidates per source, so that which papers the index finds decides the list
FORCED = merge_config(
    {
        **TEST_CONFIG,
        "candidates": {"als": 4, "cooccurrence": 3, "text": 3, "trending": 2, "ann_min_items": 0, "ann_expansion": 500},
    }
)
HISTORIES = [
    [HistoryEvent("g1", "save", NOW - timedelta(days=2)), HistoryEvent("p2", "open", NOW)],
    [HistoryEvent("p1", "save", NOW), HistoryEvent("p3", "click", NOW)],
    [HistoryEvent("g0", "save", NOW), HistoryEvent("g4", "save", NOW), HistoryEvent("g7", "open", NOW)],
]
TREND = {"g7": 2.0, "p4": 1.0}


def _exact(model):
    clone = copy.copy(model)
    clone.candidate_index_ = None
    return clone


def _lists(model):
    return [[(r.key, round(r.score, 6)) for r in model.recommend(h, n=6, trending=TREND, now=NOW)] for h in HISTORIES]


@pytest.fixture(scope="module")
def forced(papers, interactions):
    return train(papers, interactions, config=FORCED, now=NOW).model


def _clustered(rng, n=3000, d=16):
    centres = rng.normal(size=(30, d))
    popularity = rng.lognormal(0.0, 0.5, n)[:, None]
    return ((centres[rng.integers(0, 30, n)] + 0.7 * rng.normal(size=(n, d))) * popularity).astype(np.float32)


def test_forced_index_finds_the_exact_als_top_n():
    rng = np.random.default_rng(3)
    factors = _clustered(rng)
    als = ALSRecommender.from_factors(factors, factors=16)
    index = candidate_index.AlsCandidateIndex(VectorIndex.build(factors), factors)
    found_of_exact, first_same = [], []
    for _ in range(10):
        user = factors[rng.integers(0, len(factors), 5)].mean(axis=0)
        exclude = rng.integers(0, len(factors), 8)
        for power in (0.0, 0.5, 1.0):
            exact = als.top_n(user, 50, exclude=exclude, item_norm_power=power)[0]
            found = index.candidates(als, user, 50, exclude, power, expansion=1000)
            assert len(found) == 50 and not np.isin(found, exclude).any()
            found_of_exact.append(len(np.intersect1d(found, exact)) / 50)
            first_same.append(found[0] == exact[0])
    # HNSW is approximate even searched wide (a node the graph barely links can be missed, about 1 in 1,000
    # here), so this asks for nearly all of the exact top 50, not all
    assert np.mean(found_of_exact) >= 0.98 and np.mean(first_same) >= 0.9
    assert index.candidates(als, factors[0], 50, np.zeros(0, dtype=np.int64), 2.0, expansion=1000) is None  # p > 1


def test_vector_index_never_returns_excluded_rows():
    rng = np.random.default_rng(0)
    vectors = _clustered(rng, n=500)
    index = VectorIndex.build(vectors)
    exclude = np.arange(0, 500, 2)
    found = index.search(vectors[1], 40, expansion=500, exclude=exclude)
    assert len(found) == 40 and not np.isin(found, exclude).any()


def test_fit_builds_the_index_only_from_the_threshold_on(model, forced):
    assert model.candidate_index_ is None  # 24 papers, below the packaged ann_min_items
    assert forced.candidate_index_ is not None and forced.candidate_index_.n_items_ == forced.n_items
    user = forced.als_.item_factors_[:3].mean(axis=0)
    found = candidate_index.als_candidates(forced, user, 4, np.zeros(0, dtype=np.int64), 0.0)
    assert found is not None and len(found) == 4  # requests take the index path
    assert candidate_index.als_candidates(_exact(forced), user, 4, np.zeros(0, dtype=np.int64), 0.0) is None


def test_forced_index_recommends_what_exact_scoring_recommends(forced):
    assert _lists(forced) == _lists(_exact(forced))


def test_forced_index_finds_the_similar_papers_exact_scoring_finds(forced):
    exact = _exact(forced)
    for key in ("g1", "p2", "g7"):
        found = [(r.key, round(r.score, 6)) for r in forced.similar(key, n=5)]
        assert found and found == [(r.key, round(r.score, 6)) for r in exact.similar(key, n=5)]
    item = forced.item_ids_.get("g1")
    near = candidate_index.als_neighbours(forced, item, 4, np.zeros(0, dtype=np.int64))
    assert near is not None and item not in near.tolist()
    everything = forced.als_.similar_items(item)
    everything[item] = -np.inf
    assert near.tolist() == np.argsort(-everything, kind="stable")[:4].tolist()


def test_store_round_trip_keeps_the_index(forced, tmp_path):
    version = store.save(forced, tmp_path)
    manifest = json.loads((tmp_path / "versions" / version / "manifest.json").read_text())
    assert manifest["candidate_index"] == {"als": candidate_index.FILE}
    loaded = store.load_current(tmp_path)
    assert loaded.candidate_index_ is not None and loaded.candidate_index_.n_items_ == forced.n_items
    assert _lists(loaded) == _lists(forced)


def test_a_version_without_the_index_loads_and_serves_exactly(forced, tmp_path):
    version = store.save(forced, tmp_path)
    directory = tmp_path / "versions" / version
    manifest = to_npz_layout(directory)
    for key in ("ann_min_items", "ann_expansion"):  # as written before these keys existed
        del manifest["config"]["candidates"][key]
    (directory / "manifest.json").write_text(json.dumps(manifest))
    old = store.load(directory)
    assert old.candidate_index_ is None and old.config_.candidates.ann_min_items == 50_000
    assert _lists(old) == _lists(_exact(forced))


def test_an_index_that_does_not_fit_is_ignored(forced, tmp_path):
    version = store.save(forced, tmp_path)
    directory = tmp_path / "versions" / version
    (directory / candidate_index.FILE).write_bytes(b"\x00not an index")
    loaded = store.load(directory)
    assert loaded.candidate_index_ is None
    assert _lists(loaded) == _lists(_exact(forced))


def test_text_inverted_index_gives_the_exact_top_n(forced, model):
    assert forced.text_.item_terms_ is not None and model.text_.item_terms_ is None
    plain = copy.copy(forced.text_)
    plain.item_terms_ = None
    forced.text_.inverted_max_share = 1.0  # this tiny catalog's profiles read much of it: use the index anyway
    rows = forced.text_.item_vectors_
    for items in ([0, 1], [5, 17, 20], [3]):
        profile = forced.text_.profile(rows[items], np.ones(len(items)))
        for exclude in (None, np.array(items)):
            got = forced.text_.top_n(profile, 7, exclude=exclude)
            want = plain.top_n(profile, 7, exclude=exclude)
            assert got[0].tolist() == want[0].tolist()
            np.testing.assert_allclose(got[1], want[1], rtol=1e-5)


def test_store_round_trip_keeps_the_text_inverted_index(forced, tmp_path):
    store.save(forced, tmp_path)
    loaded = store.load_current(tmp_path)
    assert loaded.text_.item_terms_ is not None
    assert (loaded.text_.item_terms_ != forced.text_.item_terms_).nnz == 0


def test_the_candidate_benchmark_measures_a_stored_model(forced, tmp_path, capsys):
    scripts = str(Path(__file__).resolve().parents[3] / "scripts")
    sys.path.insert(0, scripts)
    try:
        import bench_candidates
    finally:
        sys.path.remove(scripts)
    store.save(forced, tmp_path)
    assert bench_candidates.main(["--model", str(tmp_path), "--users", "3", "--history", "4"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["items"] == len(forced.item_ids_) and result["users"] == 3
    # a wide search over a tiny catalog finds the exact ALS top 200 (the whole catalog) and the same lists
    assert set(result["ann_recall_at_200"].values()) == {1.0}
    assert result["recommend_top20_overlap"] == 1.0
