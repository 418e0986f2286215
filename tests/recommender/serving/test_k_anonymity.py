"""Reasons never state what fewer than k distinct readers did (k = ``min_readers``, default 3); scores and
rankings do not depend on k."""

import copy
import dataclasses
import re
from datetime import timedelta

import numpy as np
import pytest
from synthetic_papers import NOW, TEST_CONFIG

from recommender import store
from recommender.offline.training import train
from recommender.serving import HistoryEvent
from recommender.store_arrays import to_npz_layout

COUNTED = re.compile(r"(\d+) readers?\b|^A reader who")
HISTORIES = [("g1", "g2", "g4"), ("g1",), ("p0", "p3"), ("p1", "p5", "p7", "p9"), ("g3", "p2")]


def saves(*keys):
    return [HistoryEvent(k, "save", NOW - timedelta(days=1, minutes=i)) for i, k in enumerate(keys)]


def stated_counts(reasons):
    counts = []
    for reason in reasons:
        for match in COUNTED.finditer(reason):
            counts.append(1 if match.group(1) is None else int(match.group(1)))
    return counts


def all_reasons(model, **kwargs):
    trend = {"g7": 4.0, "p4": 3.0, "g0": 2.0}
    readers = {"g7": 1, "p4": 2, "g0": 7}
    out = []
    for history in HISTORIES:
        for rec in model.recommend(saves(*history), n=12, trending=trend, trending_readers=readers, now=NOW, **kwargs):
            out.append(rec)
    out += model.recommend([], n=5, trending=trend, trending_readers=readers, now=NOW, **kwargs)
    for key in ("g0", "g5", "p2", "p8"):
        out += model.similar(key, n=10, **kwargs)
    return out


@pytest.fixture(scope="module")
def lively(papers, interactions):
    """The synthetic community plus two readers who opened g1 and p7 together (a pair only 2 readers share)."""
    extra = [(f"x{u}", key, "open", NOW - timedelta(days=3)) for u in range(2) for key in ("g1", "p7")]
    config = {**TEST_CONFIG, "blend": {"cf": 0.0, "cooccurrence": 1.0, "text": 0.0, "trend": 0.0}}
    return train(papers, interactions + extra, config=config, now=NOW).model


def test_no_reason_states_a_count_below_k(model):
    for k in (3, 5):
        counts = [c for rec in all_reasons(model, min_readers=k) for c in stated_counts(rec.reasons)]
        assert counts and min(counts) >= k, counts
    # the default is k = 3, and the lower counts are really there to hide
    assert min(c for rec in all_reasons(model) for c in stated_counts(rec.reasons)) >= 3
    assert min(c for rec in all_reasons(model, min_readers=1) for c in stated_counts(rec.reasons)) < 3


def test_k_changes_reason_texts_only(model):
    low, high = all_reasons(model, min_readers=1), all_reasons(model, min_readers=4)
    assert [r.key for r in low] == [r.key for r in high]
    assert [r.score for r in low] == [r.score for r in high]
    assert [r.components for r in low] == [r.components for r in high]
    assert [r.reasons for r in low] != [r.reasons for r in high]


def test_readers_of_reason_needs_k_readers_of_the_pair(lively):
    assert int(lively.cooccurrence_.pair_support([lively.item_ids_.get("g1")], [lively.item_ids_.get("p7")])[0, 0]) == 2
    said = "Readers of “Message Passing On Graph Structured Data” also read this"
    by_key = {r.key: r for r in lively.recommend(saves("g1"), n=24, now=NOW, min_readers=2)}
    assert said in by_key["p7"].reasons
    by_key = {r.key: r for r in lively.recommend(saves("g1"), n=24, now=NOW, min_readers=3)}
    assert "p7" in by_key and not any(r.startswith("Readers of") for r in by_key["p7"].reasons)


def test_a_version_without_support_counts_never_says_readers_of(lively, tmp_path):
    version = store.save(lively, tmp_path)
    to_npz_layout(tmp_path / "versions" / version)
    path = tmp_path / "versions" / version / "cooccurrence.npz"
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files if k != "support"}
    np.savez(path, **arrays)
    old = store.load(tmp_path / "versions" / version)
    assert old.cooccurrence_.support_ is None
    recs = old.recommend(saves("g1"), n=24, now=NOW, min_readers=1)
    assert recs and not any(r.startswith("Readers of") for rec in recs for r in rec.reasons)


def test_min_co_savers_can_raise_k_but_never_lower_it(model):
    def co_saver_counts(m, k=None):
        recs = [r for h in HISTORIES for r in m.recommend(saves(*h), n=12, now=NOW, min_readers=k)]
        recs += [r for key in ("g0", "p2") for r in m.similar(key, n=10, min_readers=k)]
        return [c for r in recs for reason in r.reasons if "who saved" in reason for c in stated_counts([reason])]

    lax = copy.copy(model)
    lax.config_ = dataclasses.replace(
        model.config_, reasons=dataclasses.replace(model.config_.reasons, min_co_savers=1)
    )
    assert min(co_saver_counts(lax)) >= 3
    strict = copy.copy(model)
    strict.config_ = dataclasses.replace(
        model.config_, reasons=dataclasses.replace(model.config_.reasons, min_co_savers=5)
    )
    assert min(co_saver_counts(strict, 1)) >= 5


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "3"])
def test_k_must_be_a_positive_integer(model, papers, interactions, bad):
    with pytest.raises(ValueError, match="min_readers"):
        model.recommend(saves("g1"), n=3, now=NOW, min_readers=bad)
    with pytest.raises(ValueError, match="min_readers"):
        model.similar("g1", n=3, min_readers=bad)
    with pytest.raises(ValueError, match="reasons.min_readers"):
        train(papers, interactions, config={**TEST_CONFIG, "reasons": {"min_readers": bad}}, now=NOW)
