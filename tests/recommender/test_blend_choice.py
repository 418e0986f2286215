"""The blend chosen at fit time (recommender/blend_choice.py): the rule on synthetic scores, then end to end."""

import numpy as np
import pytest
import scipy.sparse as sp
from synthetic_papers import NOW, TEST_CONFIG, make_interactions, make_papers

from recommender import blend_choice
from recommender.config import default_config, parse_config, stored_config
from recommender.offline.training import train

N_USERS, N_ITEMS = 200, 1500


def _catalog(seed=0):
    """Inputs (3 papers per user) and held-out papers (5 per user), disjoint, at random."""
    rng = np.random.default_rng(seed)
    inputs, held = sp.lil_matrix((N_USERS, N_ITEMS), dtype=np.float32), sp.lil_matrix((N_USERS, N_ITEMS))
    for u in range(N_USERS):
        items = rng.choice(N_ITEMS, 8, replace=False)
        inputs[u, items[:3]] = 1.0
        held[u, items[3:]] = 1.0
    return sp.csr_matrix(inputs), sp.csr_matrix(held), rng


def _informative(held, rng, strength=2.0, share=1.0):
    """Noise, plus ``strength`` on a random ``share`` of each user's held-out papers."""
    signal = held.toarray() * (rng.random(held.shape) < share)
    return (rng.random(held.shape) + strength * signal).astype(np.float32)


def _choose(raw, inputs, held):
    grid = blend_choice.blend_grid(0.1)
    blends, bases = blend_choice.grid_recalls(raw, inputs, held, grid)
    stacked = np.stack([bases[c] for c in blend_choice.BASELINES if c in bases])
    g, margin = blend_choice.pick(blends[None], stacked[None], grid)
    return grid[g], margin


def test_a_catalog_whose_text_says_nothing_gets_the_lowest_text_weight():
    inputs, held, rng = _catalog()
    noise = rng.random(held.shape).astype(np.float32)
    raw = {"cf": _informative(held, rng), "text": noise, "trend": np.zeros(held.shape, np.float32)}
    chosen, margin = _choose(raw, inputs, held)
    assert chosen["text"] == min(b["text"] for b in blend_choice.blend_grid(0.1))
    assert margin <= 0  # noise can only dilute the one informative component


def test_a_catalog_whose_collaborative_part_says_nothing_gets_the_lowest_cf_weight():
    inputs, held, rng = _catalog(1)
    noise = rng.random(held.shape).astype(np.float32)
    raw = {"cf": noise, "cooccurrence": noise.copy(), "text": _informative(held, rng)}
    chosen, _ = _choose(raw, inputs, held)
    grid = blend_choice.blend_grid(0.1)
    assert chosen["text"] == max(b["text"] for b in grid)
    assert chosen["cf"] + chosen["cooccurrence"] == min(b["cf"] + b["cooccurrence"] for b in grid)


def test_two_components_that_each_know_half_of_the_papers_are_blended_and_beat_both():
    inputs, held, rng = _catalog(2)
    know = rng.random(held.shape) < 0.5
    cf = (rng.random(held.shape) + 2.0 * held.toarray() * know).astype(np.float32)
    text = (rng.random(held.shape) + 2.0 * held.toarray() * ~know).astype(np.float32)
    chosen, margin = _choose({"cf": cf, "text": text}, inputs, held)
    assert margin > 0
    assert chosen["text"] >= 0.3  # the two halves weigh about alike


def test_pick_prefers_the_best_worst_case_over_the_best_mean():
    grid = [{"name": "steady"}, {"name": "peaky"}]
    bases = np.array([[[0.10, 0.20]], [[0.10, 0.20]]])  # 2 views x 1 baseline x 2 cutoffs
    blends = np.array([[[0.11, 0.21], [0.30, 0.40]], [[0.11, 0.21], [0.09, 0.19]]])  # views x blends x cutoffs
    g, margin = blend_choice.pick(blends, bases, grid)
    assert grid[g]["name"] == "steady" and margin == pytest.approx(0.05)


def test_carving_holds_out_the_least_read_papers_and_removes_them_from_the_fit():
    rng = np.random.default_rng(0)
    matrix = sp.csr_matrix((rng.random((200, 60)) < 0.2).astype(np.float32))
    fit, views = blend_choice.carve(matrix, max_users=120, min_input=2, seed=0)
    assert set(views) == {"tail30", "tail70", "tail30_one", "tail70_one"}
    assert views["tail30"].inputs.shape[0] + views["tail70"].inputs.shape[0] == 120
    assert (np.diff(views["tail30_one"].inputs.indptr) == 1).all()
    assert (np.diff(views["tail70"].inputs.indptr) >= 2).all()
    assert fit.nnz == matrix.nnz - views["tail30"].held.nnz - views["tail70"].held.nnz
    readers = np.asarray(matrix.sum(axis=0)).ravel()
    v = views["tail30"]
    for r in range(v.inputs.shape[0]):  # every held-out paper is read at most as often as every input paper
        held, kept = v.held[r].indices, v.inputs[r].indices
        assert readers[held].max() <= readers[kept].min()


def test_training_chooses_the_blends_and_records_how():
    papers = make_papers()
    result = train(papers, make_interactions(users_per_group=60), config=TEST_CONFIG, now=NOW)
    record = result.model.blend_choice_
    assert record["chosen"] and result.metrics["blend_choice"] == record
    for section in ("blend", "blend_long_history"):
        chosen = getattr(result.model.config_, section)
        assert chosen.to_dict(with_min_items=False) == record[section]["weights"]
        assert len(record[section]["views"]) == 2 and isinstance(record[section]["worst_margin"], float)
    assert result.config["blend"] == result.model.config_.blend.to_dict(with_min_items=False)


def test_too_few_users_keep_the_configured_blends(model):
    assert model.blend_choice_["chosen"] is False and "needed" in model.blend_choice_["reason"]
    assert model.config_.blend.to_dict(with_min_items=False) == default_config()["blend"]


def test_a_version_stored_before_the_choice_loads_with_it_off(model):
    raw = model.config_.to_dict()
    del raw["blend_choice"]
    assert stored_config(raw).blend_choice.enabled is False


def test_the_holdout_model_serves_the_choice_and_the_figures_come_from_other_users():
    """A retrain fits ALS from scratch once: the blend choice's views are carved from at most half the users
    who can give them, every other user loses a random holdout, and only those are measured."""
    from recommender.offline.training import _holdout_and_views

    rng = np.random.default_rng(3)
    matrix = sp.csr_matrix((rng.random((400, 300)) < 0.05) * rng.integers(1, 4, (400, 300)), dtype=np.float32)
    cfg = parse_config(default_config())
    train_m, test_m, views = _holdout_and_views(matrix, cfg)
    eligible = int((np.diff(matrix.indptr) > blend_choice.carve_min_input(cfg)).sum())
    carved_pairs = views["tail30"].held.nnz + views["tail70"].held.nnz
    assert views["tail30"].inputs.shape[0] + views["tail70"].inputs.shape[0] == eligible // 2
    # every pair is in exactly one place, with its confidence
    assert train_m.nnz + test_m.nnz + carved_pairs == matrix.nnz
    rest = sp.csr_matrix(matrix - train_m - test_m)
    rest.eliminate_zeros()
    assert rest.nnz == carved_pairs and np.allclose(rest.data, np.asarray(matrix[rest.nonzero()]).ravel())
    measured = set(np.flatnonzero(np.diff(test_m.indptr) > 0).tolist())
    carved = set(np.flatnonzero(np.diff((train_m + test_m).indptr) != np.diff(matrix.indptr)).tolist())
    assert measured and len(carved) == eligible // 2 and not measured & carved


def test_a_retrain_with_enough_users_chooses_on_its_holdout_model():
    papers = make_papers()
    result = train(papers, make_interactions(users_per_group=150), config=TEST_CONFIG, now=NOW)
    record = result.model.blend_choice_
    assert record["chosen"] and record["fit_seconds"] == 0.0  # no model of its own
    assert "blend_choice" in result.seconds and result.metrics["hybrid"]["users"] > 0
    assert result.model.config_.blend.to_dict(with_min_items=False) == record["blend"]["weights"]


def test_the_grid_sums_the_same_in_chunks_of_any_size(monkeypatch):
    """Large catalogs score fewer rows per chunk (memory); the recalls are sums over rows, so they do not move."""
    papers = make_papers()
    model = train(papers, make_interactions(users_per_group=60), config=TEST_CONFIG, now=NOW).model
    rng = np.random.default_rng(4)
    matrix = sp.csr_matrix((rng.random((120, model.n_items)) < 0.1) * rng.integers(1, 4, (120, model.n_items)))
    fit_m, views = blend_choice.carve(matrix.astype(np.float32), max_users=100, min_input=2, seed=0)
    grid = blend_choice.blend_grid(0.1)
    whole = blend_choice._score_view(model, views["tail30"], fit_m, grid)
    monkeypatch.setattr(blend_choice, "CHUNK_CELLS", 7 * model.n_items)  # 7 rows at a time
    chunked = blend_choice._score_view(model, views["tail30"], fit_m, grid)
    assert views["tail30"].inputs.shape[0] > 7
    np.testing.assert_allclose(chunked[0], whole[0], rtol=1e-6)
    for c, v in whole[1].items():
        np.testing.assert_allclose(chunked[1][c], v, rtol=1e-6)


def test_from_the_index_size_on_the_choice_ranks_each_users_candidates():
    """Above ``candidates.ann_min_items`` the grid ranks the papers a request would rank; with candidate
    sizes as large as the catalog those are every paper, and the choice is the catalog-wide one."""
    papers, log = make_papers(), make_interactions(users_per_group=150)
    wide = train(papers, log, config=TEST_CONFIG, now=NOW).model.blend_choice_
    everything = {k: len(papers) for k in ("als", "cooccurrence", "text", "trending")}
    config = {**TEST_CONFIG, "candidates": {**everything, "ann_min_items": 0}}
    pooled = train(papers, log, config=config, now=NOW).model.blend_choice_
    assert pooled["among_candidates"] and not wide["among_candidates"]
    for section in ("blend", "blend_long_history"):
        assert pooled[section]["weights"] == wide[section]["weights"]
        assert pooled[section]["views"] == wide[section]["views"]
    small = {**TEST_CONFIG, "candidates": {"als": 5, "cooccurrence": 5, "text": 5, "trending": 5, "ann_min_items": 0}}
    narrow = train(papers, log, config=small, now=NOW).model.blend_choice_
    assert narrow["blend"]["views"] != wide["blend"]["views"]  # fewer papers ranked, other recalls
