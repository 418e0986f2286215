"""Why a paper is recommended: reasons built from the user's history, in an explicit order.

A list's reasons are sorted by the blend weight behind each (its component's weight times the paper's scaled
component score); among reasons of equal weight, :class:`Priority` decides. Reasons that count readers
(co-savers, readers of a paper, trending readers) are only given when at least ``min_readers`` distinct readers
stand behind them (k-anonymous reasons).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from recommender.definitions import RECENTLY_ADDED_REASON, trending_reason
from recommender.models.content import TextModel
from recommender.serving.types import Recommendation
from recommender.serving.user_state import UserState

if TYPE_CHECKING:
    from recommender.serving.hybrid import HybridRecommender

COLD_START_HINT = "save papers to personalise this list"
OPENED = ", which you opened"
SAVED = ", which you saved"
# A saved paper wins the "similar to" anchor over an opened one this much less similar.
SAVED_ANCHOR_MARGIN = 1e-3


class Priority(IntEnum):
    """Order among reasons of equal weight: a citation is the more concrete way of saying "similar to" the same
    paper; what readers did comes before topics; trending last."""

    CITATION = 0
    READERS = 1
    TEXT = 2
    TREND = 3


@dataclass
class ListContext:
    """What the reasons of one list are built from besides the user's state."""

    readers: Mapping[str, int]  # trending readers per key
    extra_titles: Mapping[str, str]  # titles of papers added since training
    window_label: str
    weights: Mapping[str, float]  # the blend weight of each available component
    min_readers: int
    # new papers (added since training): the history paper, read by at least min_readers readers, among the
    # catalog papers whose readers their cold-start cf score comes from (catalog index)
    cold_anchors: Mapping[str, int] = field(default_factory=dict)


@dataclass
class _Evidence:
    """Per candidate: the history paper each kind of reason points at (-1: none)."""

    text_best: np.ndarray | None = None
    text_sim: np.ndarray | None = None
    cite_best: np.ndarray | None = None
    cite_verb: list[str] | None = None
    co_best: np.ndarray | None = None
    co_count: np.ndarray | None = None
    read_best: np.ndarray | None = None


def shorten(title: str, limit: int = 90) -> str:
    title = " ".join(str(title).split())
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"


def explain(
    model: HybridRecommender,
    recs: list[Recommendation],
    idx: list[int],
    vectors: sp.csr_matrix,
    state: UserState,
    ctx: ListContext,
) -> None:
    """Append the reasons of each of ``recs`` (catalog indices ``idx``, text ``vectors``)."""
    if not state.personalised:
        for rec in recs:
            count = int(ctx.readers.get(rec.key, 0))
            if count > 0 or rec.components["trend"] > 0:
                rec.reasons.append(f"{trending_reason(ctx.window_label, count, ctx.min_readers)} — {COLD_START_HINT}")
            else:
                rec.reasons.append(f"New paper — {COLD_START_HINT}")
        return
    anchor_keys, anchor_titles, anchor_saved, anchors = _anchors(model, state)
    ev = _Evidence()
    if anchors is not None:
        # The anchors of "similar to" reasons: every paper in the user's positive history.
        sims = np.asarray((vectors @ anchors.T).todense())
        # A paper opened earlier can be recommended again: it is never its own reason.
        sims[
            np.asarray([r.key for r in recs], dtype=object)[:, None] == np.asarray(anchor_keys, dtype=object)[None, :]
        ] = -np.inf
        sims = sims + SAVED_ANCHOR_MARGIN * anchor_saved.astype(np.float64)[None, :]
        ev.text_best, ev.text_sim = sims.argmax(axis=1), sims.max(axis=1)
        ev.cite_best, ev.cite_verb = citation_links(
            model.text_, [r.key for r in recs], vectors, anchor_keys, anchors, anchor_saved
        )
    cand = np.asarray(idx, dtype=np.int64)
    _co_savers(model, state, cand, ev)
    _read_together(model, state, cand, ctx.min_readers, ev)
    min_text = float(model.config_.reasons.min_text_similarity)
    for j, rec in enumerate(recs):
        scored = _weighted_reasons(model, j, rec, ev, anchor_titles, anchor_saved, ctx, min_text)
        scored.sort(key=lambda t: (-t[0], t[1]))
        rec.reasons.extend(r for _, _, r in scored)
        if idx[j] < 0 and rec.key in ctx.extra_titles:
            rec.reasons.append(RECENTLY_ADDED_REASON)


def _anchors(
    model: HybridRecommender, state: UserState
) -> tuple[list[str], list[str], np.ndarray, sp.csr_matrix | None]:
    """Keys, titles, saved flags and text vectors of the user's positive history, catalog papers first; a reason
    naming one says whether the reader saved it or only opened it."""
    saved_mask = np.isin(state.pos_idx, state.saved_idx)
    extra_saved = state.extra_pos_saved if state.extra_pos_saved is not None else np.zeros(0, bool)
    vecs, titles, saved, keys = [], [], [], []
    if len(state.pos_idx):
        vecs.append(model.text_.vectors(state.pos_idx))
        titles += [str(t) for t in model.item_titles_[state.pos_idx]]
        saved += saved_mask.tolist()
        keys += [str(k) for k in model.item_ids_.keys[state.pos_idx]]
    if state.extra_pos_vectors is not None and state.extra_pos_vectors.shape[0]:
        vecs.append(state.extra_pos_vectors)
        titles += list(state.extra_pos_titles)
        saved += [bool(x) for x in extra_saved]
        keys += list(state.extra_pos_keys)
    anchors = sp.vstack(vecs).tocsr() if vecs else None
    return keys, titles, np.asarray(saved, dtype=bool), anchors


def _co_savers(model: HybridRecommender, state: UserState, cand: np.ndarray, ev: _Evidence) -> None:
    """The user's saved paper most often saved together with each candidate, and by how many readers."""
    saved_known = np.unique(state.saved_idx[state.saved_idx >= 0])
    known_cand = np.flatnonzero(cand >= 0)
    if len(saved_known) and len(known_cand) and model.saves_.nnz:
        saves = model.saves_csc
        counts = (saves[:, saved_known].T @ saves[:, cand[known_cand]]).toarray()
        counts[saved_known[:, None] == cand[known_cand][None, :]] = 0  # never a paper's own reason
        ev.co_best = np.full(len(cand), -1, dtype=np.int64)
        ev.co_count = np.zeros(len(cand), dtype=np.int64)
        ev.co_best[known_cand] = saved_known[counts.argmax(axis=0)]
        ev.co_count[known_cand] = counts.max(axis=0).astype(np.int64)


def _read_together(
    model: HybridRecommender, state: UserState, cand: np.ndarray, min_readers: int, ev: _Evidence
) -> None:
    """The history paper whose readers most often also have the candidate. Co-occurrence neighbours count
    opens too, so this names papers read together where no co-saver count does; only links that at least
    ``min_readers`` distinct readers stand behind (none: a stored version without counts)."""
    pos_known = np.unique(state.pos_idx)
    known_cand = np.flatnonzero(cand >= 0)
    cooc = model.cooccurrence_
    if cooc is None or not len(pos_known) or not len(known_cand):
        return
    support = cooc.pair_support(pos_known, cand[known_cand])
    if support is None:
        return
    links = cooc.similarity_[pos_known][:, cand[known_cand]].toarray()
    links[support < min_readers] = 0.0
    links[pos_known[:, None] == cand[known_cand][None, :]] = 0.0  # never a paper's own reason
    linked = links.max(axis=0) > 0
    ev.read_best = np.full(len(cand), -1, dtype=np.int64)
    ev.read_best[known_cand[linked]] = pos_known[links.argmax(axis=0)[linked]]


def _weighted_reasons(
    model: HybridRecommender,
    j: int,
    rec: Recommendation,
    ev: _Evidence,
    anchor_titles: Sequence[str],
    anchor_saved: np.ndarray,
    ctx: ListContext,
    min_text: float,
) -> list[tuple[float, Priority, str]]:
    """Candidate ``j``'s reasons, each with the blend weight behind it and its :class:`Priority`."""
    scored: list[tuple[float, Priority, str]] = []
    comp, w = rec.components, ctx.weights
    text_weight = w.get("text", 0.0) * comp["text"]
    cited = ev.cite_best is not None and ev.cite_best[j] >= 0
    if cited:
        best = int(ev.cite_best[j])
        suffix = SAVED if anchor_saved[best] else OPENED
        scored.append((text_weight, Priority.CITATION, f"{ev.cite_verb[j]} “{shorten(anchor_titles[best])}”{suffix}"))
    # Below half the "similar" threshold the overlap is a few common words: no text reason then.
    if (
        ev.text_best is not None
        and ev.text_sim[j] >= 0.5 * min_text + SAVED_ANCHOR_MARGIN
        and not (cited and ev.cite_best[j] == ev.text_best[j])
    ):
        best = int(ev.text_best[j])
        suffix = SAVED if anchor_saved[best] else OPENED
        verb = "Similar to" if ev.text_sim[j] >= min_text else "Shares topics with"
        scored.append((text_weight, Priority.TEXT, f"{verb} “{shorten(anchor_titles[best])}”{suffix}"))
    if ev.co_count is not None and ev.co_count[j] >= model.co_saver_threshold(ctx.min_readers):
        c = int(ev.co_count[j])
        who = f"{c} readers who" if c != 1 else "A reader who"
        weight = w.get("cf", 0.0) * comp["cf"] + w.get("cooccurrence", 0.0) * comp["cooccurrence"]
        title = shorten(str(model.item_titles_[ev.co_best[j]]))
        scored.append((weight, Priority.READERS, f"{who} saved “{title}” also saved this"))
    elif ev.read_best is not None and ev.read_best[j] >= 0 and comp["cooccurrence"] > 0:
        title = shorten(str(model.item_titles_[ev.read_best[j]]))
        weight = w.get("cooccurrence", 0.0) * comp["cooccurrence"]
        scored.append((weight, Priority.READERS, f"Readers of “{title}” also read this"))
    elif rec.key in ctx.cold_anchors and comp["cf"] > 0:
        title = shorten(str(model.item_titles_[ctx.cold_anchors[rec.key]]))
        scored.append(
            (w.get("cf", 0.0) * comp["cf"], Priority.READERS, f"Readers of “{title}” also read papers like this")
        )
    count = int(ctx.readers.get(rec.key, 0))
    if count > 0:
        reason = trending_reason(ctx.window_label, count, ctx.min_readers)
        scored.append((w.get("trend", 0.0) * comp["trend"], Priority.TREND, reason))
    if not scored and comp["cf"] > 0 and rec.key not in ctx.extra_titles:  # nobody has read a new paper yet
        scored.append((comp["cf"], Priority.READERS, "Popular with readers whose libraries resemble yours"))
    if not scored:
        scored.append((0.0, Priority.TEXT, "Related to papers in your reading history"))
    return scored


def citation_links(
    text: TextModel,
    keys: Sequence[str],
    vectors: sp.csr_matrix,
    anchor_keys: Sequence[str],
    anchors: sp.csr_matrix,
    anchor_saved: np.ndarray,
) -> tuple[np.ndarray, list[str]]:
    """For each paper (``keys``, text ``vectors``), the anchor it has a citation link with (-1 if none; a
    saved anchor first) and the verb: "Cited by" when the anchor cites it, "Cites" when it cites the anchor.

    A link is read off the text vectors: a paper holds the ``ref:<key>`` token of every paper it cites."""
    best = np.full(len(keys), -1, dtype=np.int64)
    verbs = [""] * len(keys)
    if not len(keys) or not len(anchor_keys):
        return best, verbs
    cand_cols = np.array([text.link_column(k) for k in keys], dtype=np.int64)
    anchor_cols = np.array([text.link_column(k) for k in anchor_keys], dtype=np.int64)
    if not (cand_cols >= 0).any() and not (anchor_cols >= 0).any():
        return best, verbs
    cited_by = np.zeros((len(keys), len(anchor_keys)), dtype=bool)  # anchor cites the paper
    has = np.flatnonzero(cand_cols >= 0)
    if len(has):
        cited_by[has] = (anchors[:, cand_cols[has]].toarray() > 0).T
    cites = np.zeros_like(cited_by)  # the paper cites the anchor
    has_a = np.flatnonzero(anchor_cols >= 0)
    if len(has_a):
        cites[:, has_a] = vectors[:, anchor_cols[has_a]].toarray() > 0
    linked = cited_by | cites
    position = {a: i for i, a in enumerate(anchor_keys)}
    for j, k in enumerate(keys):  # a paper is not linked to itself
        if k in position:
            linked[j, position[k]] = False
    rank = linked * (1.0 + anchor_saved[None, :])  # a saved anchor before an opened one
    for j in np.flatnonzero(linked.any(axis=1)):
        a = int(np.argmax(rank[j]))
        best[j] = a
        verbs[j] = "Cited by" if cited_by[j, a] else "Cites"
    return best, verbs
