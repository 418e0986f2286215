"""Reasons are ordered by the blend weight behind each, and among equal weights by an explicit priority; no
reason names the paper it explains."""

import re

import numpy as np

from recommender.serving.reasons import ListContext, Priority, _Evidence, _weighted_reasons
from recommender.serving.types import Recommendation
from recommender.serving.user_state import UserState

QUOTED = re.compile(r"“(.+?)”")


def test_equal_weights_are_ordered_by_priority_citation_readers_text_trend(model):
    rec = Recommendation("p1", 0.5, {"cf": 0.0, "cooccurrence": 1.0, "text": 1.0, "trend": 1.0})
    g0 = int(model.item_ids_.get("g0"))
    evidence = _Evidence(
        text_best=np.array([1]),
        text_sim=np.array([0.9]),
        cite_best=np.array([0]),
        cite_verb=["Cites"],
        read_best=np.array([g0]),
    )
    # every component weighs the same, so every reason has weight 0.25
    ctx = ListContext({"p1": 5}, {}, "this week", dict.fromkeys(("cf", "cooccurrence", "text", "trend"), 0.25), 3)
    scored = _weighted_reasons(model, 0, rec, evidence, ["Anchor A", "Anchor B"], np.array([True, True]), ctx, 0.1)
    scored.sort(key=lambda t: (-t[0], t[1]))
    assert [p for _, p, _ in scored] == [Priority.CITATION, Priority.READERS, Priority.TEXT, Priority.TREND]
    assert scored[0][2] == "Cites “Anchor A”, which you saved"
    assert scored[1][2].startswith("Readers of “") and scored[2][2] == "Similar to “Anchor B”, which you saved"
    assert scored[3][2] == "Trending here: 5 readers this week"
    # a heavier reason goes first whatever its priority
    ctx.weights = {"cf": 0.0, "cooccurrence": 0.1, "text": 0.1, "trend": 0.8}
    scored = _weighted_reasons(model, 0, rec, evidence, ["Anchor A", "Anchor B"], np.array([True, True]), ctx, 0.1)
    scored.sort(key=lambda t: (-t[0], t[1]))
    assert scored[0][1] == Priority.TREND


def _names(reasons):
    return [q for reason in reasons for q in QUOTED.findall(reason)]


def test_no_reason_path_names_the_paper_itself(model):
    """A state that leaves the history's own papers in the candidates (the library lets a caller do so): their
    text, citation, co-saver and read-together reasons name other papers of the history, never themselves."""
    mine = ["g1", "g2", "g3", "g5"]
    idx = model.item_ids_.lookup(np.asarray(mine, dtype=object))
    state = UserState(idx, np.ones(len(idx)), idx, np.zeros(0, dtype=np.int64), set())
    recs = model.rank(state, n=10, trending={}, only={*mine, "g4", "g6"}, min_readers=1)
    assert {r.key for r in recs} >= set(mine)
    title = {k: str(model.item_titles_[model.item_ids_.get(k)]) for k in {r.key for r in recs}}
    for rec in recs:
        assert rec.reasons and title[rec.key] not in _names(rec.reasons), rec
    own = [r for r in recs if r.key in mine]
    # the reader paths ran on the history's own papers: they name another of the reader's papers
    assert any("who saved “" in reason for r in own for reason in r.reasons), [r.reasons for r in own]
    assert any(reason.startswith("Similar to") for r in own for reason in r.reasons), [r.reasons for r in own]


def test_similar_papers_never_list_or_name_the_paper_itself(model):
    for key in ("g1", "p3"):
        recs = model.similar(key, n=23, min_readers=1)
        title = str(model.item_titles_[model.item_ids_.get(key)])
        assert recs and key not in {r.key for r in recs}
        assert all(r.reasons and title not in _names(r.reasons) for r in recs), [r.reasons for r in recs]
