"""How --tune picks a blend among trials (pure function over trial records; no data needed), scores a blend
without touching the fitted model, and where it writes its choice."""

import copy
import json

import numpy as np
import scipy.sparse as sp

from recommender.config import DEFAULT_CONFIG_PATH, default_config, merge_config
from recommender.offline.datasets import CiteULikeData, lists_to_csr
from recommender.offline.tuning import (
    TUNE_BLEND_GRID,
    choose_blend,
    save_tuning,
    score_with_blend,
    tune,
    tuned_config,
)

TOPICS = (
    "graph network node edge spectral clustering community walk",
    "protein folding structure residue sequence docking enzyme binding",
    "language model transformer token attention pretraining alignment text",
    "quantum qubit entanglement circuit error correction hamiltonian gate",
)


def _trial(view, cf, recall, cf_recall, text_recall):
    t = {"view": view, "blend": {"cf": cf, "text": round(1 - cf - 0.05, 2), "trend": 0.05}}
    for i, k in enumerate((20, 50, 100, 300)):
        t[f"recall@{k}"] = recall[i]
        t[f"cf_recall@{k}"] = cf_recall[i]
        t[f"text_recall@{k}"] = text_recall[i]
    return t


CF = (0.10, 0.20, 0.30, 0.50)
TEXT = (0.12, 0.19, 0.28, 0.45)


def test_a_blend_that_beats_both_components_everywhere_wins_over_a_higher_objective():
    better_but_loses_at_20 = _trial("v", 0.7, (0.11, 0.26, 0.36, 0.58), CF, TEXT)
    beats_everywhere = _trial("v", 0.5, (0.13, 0.24, 0.34, 0.56), CF, TEXT)
    blend, objective, beats = choose_blend([better_but_loses_at_20, beats_everywhere])
    assert blend["cf"] == 0.5 and beats
    assert objective == (0.24 + 0.34 + 0.56) / 3


def test_without_a_blend_that_beats_everywhere_the_best_objective_wins_and_says_so():
    a = _trial("v", 0.7, (0.11, 0.26, 0.36, 0.58), CF, TEXT)
    b = _trial("v", 0.5, (0.11, 0.24, 0.34, 0.56), CF, TEXT)
    blend, _, beats = choose_blend([a, b])
    assert blend["cf"] == 0.7 and not beats


def test_a_blend_must_beat_the_components_on_every_view_it_is_chosen_on():
    on_one_view = [
        _trial("a", 0.5, (0.13, 0.24, 0.34, 0.56), CF, TEXT),
        _trial("b", 0.5, (0.09, 0.30, 0.40, 0.60), CF, TEXT),  # loses to text at @20 here
    ]
    on_both = [
        _trial("a", 0.6, (0.13, 0.21, 0.31, 0.51), CF, TEXT),
        _trial("b", 0.6, (0.13, 0.21, 0.31, 0.51), CF, TEXT),
    ]
    blend, _, beats = choose_blend(on_one_view + on_both)
    assert blend["cf"] == 0.6 and beats


def test_a_view_without_cooccurrence_cannot_choose_a_cooccurrence_weight():
    # on a one-paper view the co-occurrence component is empty: its weight only rescales the others
    with_cooc = _trial("sparse", 0.5, (0.13, 0.24, 0.34, 0.56), CF, TEXT)
    with_cooc["blend"]["cooccurrence"] = 0.3
    without = _trial("sparse", 0.6, (0.13, 0.22, 0.32, 0.52), CF, TEXT)
    for t in (with_cooc, without):
        t["cooccurrence_pairs"] = 0
    blend, _, _ = choose_blend([with_cooc, without])
    assert blend["cf"] == 0.6 and "cooccurrence" not in blend
    # where the view has co-occurrence pairs, the better blend wins as usual
    for t in (with_cooc, without):
        t["cooccurrence_pairs"] = 1200
    blend, _, _ = choose_blend([with_cooc, without])
    assert blend["cooccurrence"] == 0.3


def test_scoring_a_blend_leaves_the_fitted_model_as_it_is(model):
    # tune used to write each blend into the fitted model's config; the model is shared here (session fixture)
    config_before = copy.deepcopy(model.config_)
    one_paper_rows = sp.csr_matrix(np.eye(3, model.n_items, dtype=np.float32))
    raw = model.component_scores(one_paper_rows, trending=np.ones(model.n_items))
    blend = model.config_.to_dict()["blend"]
    own = score_with_blend(model, one_paper_rows, raw, blend)
    np.testing.assert_array_equal(own, model.blend_scores(one_paper_rows, raw))
    text_only = {**blend, "cf": 0.0, "cooccurrence": 0.0, "text": 1.0, "trend": 0.0}
    scored = score_with_blend(model, one_paper_rows, raw, text_only)
    assert not np.array_equal(scored, own)
    assert model.config_ == config_before
    np.testing.assert_array_equal(model.blend_scores(one_paper_rows, raw), own)


def test_the_chosen_config_is_the_default_with_the_tuned_sections():
    best = {"text": {"link_weight": 1.0}, "blend_long_history": {"min_items": 0}}
    config = tuned_config(best)
    default = default_config()
    assert config["text"] == {**default["text"], "link_weight": 1.0}
    assert config["blend_long_history"]["min_items"] == 0
    assert {k: v for k, v in config.items() if k not in best} == {k: v for k, v in default.items() if k not in best}
    assert merge_config(config) == config


def _topic_data(n_users=40, n_items=400, seed=0) -> CiteULikeData:
    """Users who read within one of four topics: 10 training items each (and no test matrix: tune must not
    read it)."""
    rng = np.random.default_rng(seed)
    topic = np.arange(n_items) % len(TOPICS)
    rows = [np.sort(rng.choice(np.flatnonzero(topic == u % len(TOPICS)), 10, replace=False)) for u in range(n_users)]
    train = lists_to_csr(rows, n_items)
    return CiteULikeData(
        name="topics",
        P=10,
        n_users=n_users,
        n_items=n_items,
        titles=[" ".join(rng.choice(TOPICS[t].split(), 4, replace=False)) for t in topic],
        tags=[[] for _ in range(n_items)],
        abstracts={},
        train=train,
        test=None,
        text_fields=["title"],
    )


def test_tune_chooses_a_config_and_writes_it_into_out_only(tmp_path):
    small_model = {"als": {"factors": 4, "iterations": 3}, "text": {"min_df": 1}}
    result = tune(_topic_data(), max_users=20, model_grid=(small_model,), blend_grid=TUNE_BLEND_GRID[:4])
    assert result["input_items"] == {"mimic": 3, "mimic7": 7, "sparse": 1}
    assert len(result["trials"]) == 3 * 4
    assert set(result["best"]) == {"als", "text", "blend", "blend_long_history"}
    assert result["best"]["blend_long_history"]["min_items"] == 2
    packaged = DEFAULT_CONFIG_PATH.read_bytes()
    paths = save_tuning(result, tmp_path / "tune")
    assert DEFAULT_CONFIG_PATH.read_bytes() == packaged
    assert json.loads(paths["tuning"].read_text())["best"] == result["best"]
    assert json.loads(paths["config"].read_text()) == tuned_config(result["best"])
    assert "default_config" not in paths
