"""Reasons are ordered by the blend weight behind each, and among equal weights by an explicit priority."""

import numpy as np

from recommender.serving.reasons import ListContext, Priority, _Evidence, _weighted_reasons
from recommender.serving.types import Recommendation


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
    assert scored[0][2] == "Cites “Anchor A”"
    assert scored[1][2].startswith("Readers of “") and scored[2][2] == "Similar to “Anchor B”"
    assert scored[3][2] == "Trending here: 5 readers this week"
    # a heavier reason goes first whatever its priority
    ctx.weights = {"cf": 0.0, "cooccurrence": 0.1, "text": 0.1, "trend": 0.8}
    scored = _weighted_reasons(model, 0, rec, evidence, ["Anchor A", "Anchor B"], np.array([True, True]), ctx, 0.1)
    scored.sort(key=lambda t: (-t[0], t[1]))
    assert scored[0][1] == Priority.TREND
