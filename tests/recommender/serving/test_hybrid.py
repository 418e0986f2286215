import copy
from datetime import timedelta

import numpy as np
import pytest
import scipy.sparse as sp
from synthetic_papers import NOW, TEST_CONFIG

from recommender.config import Config
from recommender.offline.training import train
from recommender.serving import HistoryEvent, PaperDoc, Recommendation
from recommender.serving.diversity import mmr

TITLES = {}


@pytest.fixture(autouse=True)
def _titles(papers):
    TITLES.update({p.key: p.title for p in papers})


def saves(*keys, days_ago=1):
    return [HistoryEvent(k, "save", NOW - timedelta(days=days_ago, minutes=i)) for i, k in enumerate(keys)]


def test_components_and_reasons_are_present_and_bounded(model):
    recs = model.recommend(saves("g1", "g2", "g4"), n=5, now=NOW)
    assert 0 < len(recs) <= 5
    for r in recs:
        assert isinstance(r, Recommendation)
        assert set(r.components) == {"cf", "cooccurrence", "text", "trend"}
        assert all(0.0 <= v <= 1.0 for v in r.components.values())
        assert r.reasons and all(isinstance(s, str) and s for s in r.reasons)


def test_graph_reader_gets_graph_papers(model):
    recs = model.recommend(saves("g1", "g2", "g4"), n=5, now=NOW)
    assert all(r.key.startswith("g") for r in recs)
    recs = model.recommend(saves("p0", "p1", "p2"), n=5, now=NOW)
    assert all(r.key.startswith("p") for r in recs)


def test_reasons_name_papers_the_user_really_saved(model, interactions):
    saved = ["g1", "g2", "g4"]
    saved_titles = {TITLES[k] for k in saved}
    recs = model.recommend(saves(*saved), n=8, now=NOW)
    savers = {}
    for user, key, typ, _ in interactions:
        if typ == "save":
            savers.setdefault(key, set()).add(user)
    said_similar = said_readers = 0
    for r in recs:
        for reason in r.reasons:
            if reason.startswith("Similar to “"):
                assert reason[len("Similar to “") : reason.index("”")] in saved_titles
                said_similar += 1
            if "who saved “" in reason:
                title = reason[reason.index("“") + 1 : reason.index("”")]
                assert title in saved_titles
                anchor = next(k for k in saved if TITLES[k] == title)
                count = len(savers.get(anchor, set()) & savers.get(r.key, set()))
                claimed = 1 if reason.startswith("A reader") else int(reason.split()[0])
                assert claimed == count >= 1
                said_readers += 1
    assert said_similar and said_readers


def test_saved_dismissed_and_excluded_never_appear(model):
    history = saves("g1", "g2") + [
        HistoryEvent("g3", "dismiss", NOW - timedelta(hours=1)),
        HistoryEvent("g5", "save", NOW - timedelta(hours=3)),
        HistoryEvent("g5", "unsave", NOW - timedelta(hours=2)),  # no longer saved: may come back
    ]
    trend = {k: 1.0 for k in TITLES}
    recs = model.recommend(history, n=30, trending=trend, exclude={"g6"}, now=NOW)
    keys = {r.key for r in recs}
    assert not keys & {"g1", "g2", "g3", "g6"}
    assert len(keys) == len(recs)


def test_dismissal_lowers_similar_papers(model):
    base = saves("g1", "g2")
    before = {r.key: r for r in model.recommend(base, n=20, now=NOW)}
    dismissed = [*base, HistoryEvent("g10", "dismiss", NOW)]  # knowledge graph completion with GNNs
    after = {r.key: r for r in model.recommend(dismissed, n=20, now=NOW)}
    # g0 "graph neural networks for node classification" shares most words with the dismissed paper.
    assert after["g0"].components["text"] < before["g0"].components["text"]


def test_new_user_is_folded_in_after_three_saves(model):
    history = saves("p3", "p7", "p9")  # a user the model has never seen
    trend = {"g0": 9.0, "g1": 8.0, "g2": 7.0}
    recs = model.recommend(history, n=5, trending=trend, trending_readers={"g0": 9}, now=NOW)
    assert recs[0].key.startswith("p")
    assert any(r.components["cf"] > 0.5 for r in recs)
    assert sum(r.key.startswith("p") for r in recs) >= 4


def test_cold_user_gets_trending_with_an_honest_reason(model):
    trend = {"g0": 3.0, "p1": 5.0}
    recs = model.recommend([], n=5, trending=trend, trending_readers={"p1": 12, "g0": 1}, now=NOW)
    assert [r.key for r in recs] == ["p1", "g0"]
    assert recs[0].reasons == ["Trending here: 12 readers this week — save papers to personalise this list"]
    # one reader is fewer than the default k = 3 readers a count needs: the count is left out
    assert recs[1].reasons == ["Trending here this week — save papers to personalise this list"]
    lowered = model.recommend([], n=5, trending=trend, trending_readers={"p1": 12, "g0": 1}, now=NOW, min_readers=1)
    assert lowered[1].reasons[0].startswith("Trending here: 1 reader this week —")
    assert model.recommend([], n=5, now=NOW) == []


def test_trending_reason_uses_the_reader_count_passed_in(model):
    recs = model.recommend(
        saves("g1"), n=20, trending={"g7": 4.0}, trending_readers={"g7": 3}, window_label="today", now=NOW
    )
    g7 = next(r for r in recs if r.key == "g7")
    assert "Trending here: 3 readers today" in g7.reasons


def test_papers_added_after_training(model):
    new_saved = PaperDoc("arxiv:new1", "Graph neural networks for traffic forecasting", "graph networks")
    new_candidate = PaperDoc("arxiv:new2", "Message passing graph neural networks at scale", "graph")
    history = [HistoryEvent("arxiv:new1", "save", NOW)]
    recs = model.recommend(history, n=10, extra_docs=[new_saved, new_candidate], now=NOW)
    keys = [r.key for r in recs]
    assert "arxiv:new1" not in keys  # saved
    assert "arxiv:new2" in keys
    assert keys[0].startswith(("g", "arxiv:new2"))
    new2 = next(r for r in recs if r.key == "arxiv:new2")
    assert new2.components["cf"] == 0.0
    assert f"Similar to “{new_saved.title}”, which you saved" in new2.reasons
    # Unknown history without text is ignored rather than failing.
    assert model.recommend([HistoryEvent("arxiv:unknown", "save", NOW)], n=3, now=NOW) == []


def test_only_restricts_the_list_to_the_given_papers_scored_in_full(model):
    graph_new = PaperDoc("arxiv:new-g", "Graph neural networks for molecules", "graph message passing")
    other_new = PaperDoc("arxiv:new-x", "Protein folding with diffusion models", "protein structure")
    only = {"arxiv:new-g", "arxiv:new-x", "p0", "g1", "arxiv:nowhere"}
    recs = model.recommend(saves("g1", "g2", "g4"), n=10, extra_docs=[graph_new, other_new], only=only, now=NOW)
    keys = [r.key for r in recs]
    # Saved g1 is never listed; the unknown key is ignored; everything else in `only` is ranked, nothing outside it.
    assert set(keys) == {"arxiv:new-g", "arxiv:new-x", "p0"}
    assert keys.index("arxiv:new-g") < keys.index("arxiv:new-x")
    assert all(r.reasons for r in recs)
    assert model.recommend(saves("g1"), n=5, only=set(), now=NOW) == []


def test_the_same_paper_under_another_key_is_not_recommended_back(model):
    # "g1" as another site lists it (different key, same title; a casing and punctuation variant)
    same = PaperDoc("openreview:abc", TITLES["g1"].upper() + ".", "We study message passing on graphs.")
    twin_a = PaperDoc("arxiv:2401.00001", "Graph Rewiring For Message Passing Networks", "graph message passing")
    twin_b = PaperDoc("s2:77", "graph rewiring for message-passing networks", "graph message passing networks")
    keys = [r.key for r in model.recommend(saves("g1", "g2"), n=30, extra_docs=[same, twin_a, twin_b], now=NOW)]
    assert "arxiv:2401.00001" in keys or "s2:77" in keys  # n covers every candidate
    assert "openreview:abc" not in keys
    assert len({"arxiv:2401.00001", "s2:77"} & set(keys)) == 1  # two listings of one new paper: one shown
    # a paper opened (not saved) may come back under its own key, never under another one
    opened = [*saves("g1", "g2"), HistoryEvent("g5", "open", NOW - timedelta(minutes=5))]
    twin = PaperDoc("openreview:g5", TITLES["g5"], "We study graph pooling.")
    keys = [r.key for r in model.recommend(opened, n=30, extra_docs=[twin], now=NOW)]
    assert "g5" in keys and "openreview:g5" not in keys
    # titles too short to tell papers apart are not merged
    short = [PaperDoc(f"x:{i}", "Graph Networks", "graph message passing") for i in range(2)]
    keys = [r.key for r in model.recommend(saves("g1", "g2"), n=30, extra_docs=short, now=NOW)]
    assert {"x:0", "x:1"} <= set(keys)
    # papers similar to g1's other listing: g1 itself is not among them
    other = model.similar("openreview:abc", n=12, doc=same)
    assert "g1" not in {r.key for r in other}


def test_similar_papers(model):
    recs = model.similar("g0", n=5)
    assert len(recs) == 5 and "g0" not in {r.key for r in recs}
    assert all(r.key.startswith("g") for r in recs)
    assert all(r.reasons for r in recs)
    assert any(reason.startswith("Shares key terms:") for r in recs for reason in r.reasons)
    doc = PaperDoc("new", "Protein folding of amino acid sequences", "protein folding")
    recs = model.similar("new", n=3, doc=doc)
    assert all(r.key.startswith("p") for r in recs)
    assert model.similar("g0", n=3, exclude={recs[0].key})


def test_mixed_interests_get_both_topics(model):
    mixed = model.recommend(saves("g1", "p1"), n=6, now=NOW)
    assert {r.key[0] for r in mixed} == {"g", "p"}


def test_bad_input_raises_value_errors(model):
    with pytest.raises(ValueError, match="n must be"):
        model.recommend([], n=0)
    with pytest.raises(ValueError, match="unknown event type"):
        model.recommend([HistoryEvent("g1", "like", NOW)])
    with pytest.raises(ValueError, match="HistoryEvent"):
        model.recommend([("g1", "save", NOW)])
    with pytest.raises(ValueError, match="PaperDoc"):
        model.recommend([], extra_docs=[{"key": "x"}])
    with pytest.raises(ValueError, match="unknown paper key"):
        model.similar("nope")
    from recommender.serving import HybridRecommender

    with pytest.raises(ValueError, match="not fitted"):
        HybridRecommender().recommend([])


def test_scores_are_vectorised_not_catalog_loops(model):
    # The blend only touches candidates: a request returns at most the candidate union, whatever n asks.
    recs = model.recommend(saves("g1"), n=1000, now=NOW)
    assert len(recs) <= model.n_items
    assert np.all(np.isfinite([r.score for r in recs]))


def test_mmr_prefers_a_different_topic_over_a_near_duplicate():
    import scipy.sparse as sp

    vectors = sp.csr_matrix(np.array([[1.0, 0.0], [0.99, 0.141], [0.0, 1.0]], dtype=np.float32))
    score = np.array([1.0, 0.95, 0.7])
    assert mmr(score, vectors, 2, 1.0) == [0, 1]
    assert mmr(score, vectors, 2, 0.5) == [0, 2]


def _with_blends(model, *, short, long, min_items):
    other = copy.copy(model)
    raw = model.config_.to_dict()
    no_options = {"cf_item_norm": 0.0, "popularity_discount": 0.0}  # a blend without options has neither
    raw["blend"] = {**no_options, **short}
    raw["blend_long_history"] = {"min_items": min_items, **no_options, **long}
    other.config_ = Config.from_dict(raw)
    return other


def test_long_histories_use_their_own_blend_in_requests_and_batches(model):
    cf_only = {"cf": 1.0, "cooccurrence": 0.0, "text": 0.0, "trend": 0.0}
    text_only = {"cf": 0.0, "cooccurrence": 0.0, "text": 1.0, "trend": 0.0}
    split = _with_blends(model, short=cf_only, long=text_only, min_items=3)
    assert split.blend_for(2) == cf_only and split.blend_for(3) == text_only
    short = split.recommend(saves("g1", "g2"), n=5, now=NOW)
    long = split.recommend(saves("g1", "g2", "g3"), n=5, now=NOW)
    assert all(r.score == pytest.approx(r.components["cf"]) for r in short)
    assert all(r.score == pytest.approx(r.components["text"]) for r in long)

    idx = [split.item_ids_.lookup(np.array([k], dtype=object))[0] for k in ("g1", "g2", "g3")]
    rows = sp.csr_matrix(([8.0] * 5, ([0, 0, 1, 1, 1], idx[:2] + idx)), shape=(2, split.n_items))
    blended = split.score_matrix(rows)
    for r, comp in ((0, "cf"), (1, "text")):
        raw = split.score_matrix(rows[r], component=comp)[0]
        raw[rows[r].indices] = 0.0
        raw = np.maximum(raw, 0.0)
        np.testing.assert_allclose(blended[r], raw / raw.max(), rtol=1e-5, atol=1e-6)
    # min_items 0 switches the long-history blend off
    off = _with_blends(model, short=cf_only, long=text_only, min_items=0)
    assert off.blend_for(50) == cf_only


def test_cf_item_norm_follows_the_history_length_in_requests_and_batches(model):
    cf_dot = {"cf": 1.0, "cooccurrence": 0.0, "text": 0.0, "trend": 0.0, "cf_item_norm": 0.0}
    cf_cosine = {**cf_dot, "cf_item_norm": 1.0}
    split = _with_blends(model, short=cf_dot, long=cf_cosine, min_items=3)
    assert split.cf_item_norm_for(2) == 0.0 and split.cf_item_norm_for(3) == 1.0
    als = split.als_
    norms = np.linalg.norm(als.item_factors_, axis=1)
    keys = ("g1", "g2", "g3")
    idx = [int(split.item_ids_.lookup(np.array([k], dtype=object))[0]) for k in keys]

    # request path: the CF component of a long history is the cosine, scaled over the candidates
    recs = split.recommend(saves(*keys), n=6, now=NOW)
    x = als.fold_in(np.array(idx), np.full(3, 8.0))
    rec_idx = split.item_ids_.lookup(np.array([r.key for r in recs], dtype=object))
    cosine = (als.item_factors_[rec_idx] @ x) / norms[rec_idx]
    comps = np.array([r.components["cf"] for r in recs])
    best = int(np.argmax(cosine))  # components are scaled by the candidates' best score: compare ratios
    np.testing.assert_allclose(comps / comps[best], np.maximum(cosine, 0) / cosine[best], rtol=1e-4, atol=1e-6)
    assert not np.allclose(np.argsort(cosine), np.argsort(als.item_factors_[rec_idx] @ x))

    # batches: a 2-paper row is scored by the dot product, a 3-paper row by the cosine
    rows = sp.csr_matrix(([8.0] * 5, ([0, 0, 1, 1, 1], idx[:2] + idx)), shape=(2, split.n_items))
    raw = split.score_matrix(rows, component="cf")
    factors = als.fold_in_rows(rows)
    np.testing.assert_allclose(raw[0], als.item_factors_ @ factors[0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(raw[1], (als.item_factors_ @ factors[1]) / norms, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "override, message",
    [
        ({"blend_long_history": {"cf_item_norm": -1}}, "blend_long_history.cf_item_norm"),
        ({"blend": {"cf_item_norm": "cosine"}}, "blend.cf_item_norm"),
        ({"blend_long_history": {"min_items": "5"}}, "blend_long_history.min_items"),
        ({"blend_long_history": {"min_items": -1}}, "blend_long_history.min_items"),
        ({"blend_long_history": {"cf": -0.5}}, "blend_long_history.cf"),
        ({"blend": {"text": "high"}}, "blend.text"),
        ({"blend": {"trend": True}}, "blend.trend"),
    ],
)
def test_bad_blend_config_fails_the_fit_not_a_request(papers, interactions, override, message):
    config = copy.deepcopy(TEST_CONFIG)
    for section, values in override.items():
        config.setdefault(section, {}).update(values)
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        train(papers, interactions, config=config, now=NOW)


def test_cooccurrence_component_in_requests_and_batches(model):
    cooc_only = {"cf": 0.0, "cooccurrence": 1.0, "text": 0.0, "trend": 0.0}
    only = _with_blends(model, short=cooc_only, long=cooc_only, min_items=0)
    keys = ("g1", "g2")
    idx = np.array([int(only.item_ids_.lookup(np.array([k], dtype=object))[0]) for k in keys])
    full = only.cooccurrence_.catalog_scores(idx)

    # request path: co-occurrence neighbours are candidates, scored and scaled by the best candidate
    recs = only.recommend(saves(*keys), n=6, now=NOW)
    rec_idx = only.item_ids_.lookup(np.array([r.key for r in recs], dtype=object))
    comps = np.array([r.components["cooccurrence"] for r in recs])
    assert comps[0] == pytest.approx(1.0)
    np.testing.assert_allclose(comps, full[rec_idx] / full[rec_idx].max(), rtol=1e-5)
    assert all(r.score == pytest.approx(r.components["cooccurrence"]) for r in recs)
    best_outside_history = np.delete(full, idx).max()
    assert full[rec_idx[0]] == pytest.approx(best_outside_history)

    # batches: the raw component is the sum of the history's neighbour rows
    row = sp.csr_matrix(([8.0, 8.0], ([0, 0], idx)), shape=(1, only.n_items))
    np.testing.assert_allclose(only.score_matrix(row, component="cooccurrence")[0], full, rtol=1e-5)
    # the co-saver reason names a paper in the history when the component put the paper there
    assert any("also saved this" in " ".join(r.reasons) for r in recs)


def test_papers_read_together_are_named_when_no_co_saver_count_applies(papers, interactions):
    # ten readers opened (never saved) a graph paper together with a protein paper
    extra = [(f"x{u}", key, "open", NOW - timedelta(days=3)) for u in range(10) for key in ("g1", "p7")]
    config = {**TEST_CONFIG, "blend": {"cf": 0.0, "cooccurrence": 1.0, "text": 0.0, "trend": 0.0}}
    model = train(papers, interactions + extra, config=config, now=NOW).model
    recs = model.recommend(saves("g1"), n=5, now=NOW, min_readers=1)
    by_key = {r.key: r for r in recs}
    assert "p7" in by_key, [r.key for r in recs]
    assert by_key["p7"].reasons[0] == f"Readers of “{TITLES['g1']}” also read this"
    # papers also saved together keep the stronger, counted reason
    saved_together = [r for r in recs if r.key.startswith("g")]
    assert saved_together and all("also saved this" in r.reasons[0] for r in saved_together)


def test_score_matrix_is_component_scores_then_blend_scores(model):
    idx = [int(model.item_ids_.lookup(np.array([k], dtype=object))[0]) for k in ("g1", "g2", "p3", "p4", "p5")]
    rows = sp.csr_matrix(([8.0] * 5, ([0, 1, 1, 2, 2], idx)), shape=(3, model.n_items))
    trend = np.linspace(0.0, 1.0, model.n_items)
    raw = model.component_scores(rows, trending=trend)
    assert set(raw) == {"cf", "cooccurrence", "text", "trend"}
    np.testing.assert_array_equal(model.blend_scores(rows, raw), model.score_matrix(rows, trending=trend))
    for c in raw:
        np.testing.assert_array_equal(raw[c], model.score_matrix(rows, component=c, trending=trend))
    # one cf_item_norm for every row when given; otherwise each row's own (1 paper vs 2 papers here)
    dot = model.component_scores(rows, components=("cf",), cf_item_norm=0.0)["cf"]
    cosine = model.component_scores(rows, components=("cf",), cf_item_norm=1.0)["cf"]
    norms = np.linalg.norm(model.als_.item_factors_, axis=1)
    np.testing.assert_allclose(cosine, dot / norms, rtol=1e-4, atol=1e-6)
    for r, n in enumerate((1, 2, 2)):
        expected = {0.0: dot, 1.0: cosine}[model.cf_item_norm_for(n)][r]
        np.testing.assert_allclose(raw["cf"][r], expected, rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="unknown component"):
        model.component_scores(rows, components=("nope",))


def test_popularity_discount_scales_the_blend_in_requests_and_batches(model):
    text_only = {"cf": 0.0, "cooccurrence": 0.0, "text": 1.0, "trend": 0.0}
    discounted = {**text_only, "popularity_discount": 0.5}
    split = _with_blends(model, short=text_only, long=discounted, min_items=3)
    assert split.popularity_discount_for(2) == 0.0 and split.popularity_discount_for(3) == 0.5
    readers = split.cooccurrence_.readers_
    assert readers.sum() > 0

    keys = ("g1", "g2", "g3")
    recs = split.recommend(saves(*keys), n=6, now=NOW)
    idx = split.item_ids_.lookup(np.array([r.key for r in recs], dtype=object))
    for r, i in zip(recs, idx, strict=True):
        assert r.score == pytest.approx(r.components["text"] * (1.0 + readers[i]) ** -0.5, rel=1e-5)
    short = split.recommend(saves(*keys[:2]), n=6, now=NOW)
    assert all(r.score == pytest.approx(r.components["text"]) for r in short)

    hist = [int(split.item_ids_.lookup(np.array([k], dtype=object))[0]) for k in keys]
    rows = sp.csr_matrix(([8.0] * 5, ([0, 0, 1, 1, 1], hist[:2] + hist)), shape=(2, split.n_items))
    plain = _with_blends(model, short=text_only, long=text_only, min_items=3).score_matrix(rows)
    batch = split.score_matrix(rows)
    np.testing.assert_allclose(batch[0], plain[0], rtol=1e-6)
    np.testing.assert_allclose(batch[1], plain[1] * (1.0 + readers) ** -0.5, rtol=1e-5, atol=1e-7)


def test_a_paper_opened_today_is_never_its_own_reason(model):
    """The library returns a paper opened minutes ago when the caller does not exclude it (the server always
    does); its reasons name other papers of the history, never the paper itself ("Similar to “X”, which you
    opened" for X)."""
    history = [HistoryEvent("g3", "open", NOW - timedelta(minutes=5)), *saves("g1", "g2")]
    recs = model.recommend(history, n=10, now=NOW, only={"g3", "g4", "g5"})
    again = next(r for r in recs if r.key == "g3")
    assert again.reasons
    assert not any(TITLES["g3"] in reason for reason in again.reasons), again.reasons
