"""Papers added after the last retrain, in the collaborative part of a request.

A paper nobody has read has no ALS factor, so without this its ``cf`` component is missing and it is ranked by
text alone. The model's :class:`~recommender.coldstart.ColdStartScorer` (fitted with the model, see
:func:`fit_scorer`) maps it into the ALS space from its title and abstract and scores it for the user's
history; that score, scaled to the best catalog candidate's ``cf`` score, takes the missing component's place
(:func:`new_paper_cf`). The catalog candidates' scores are unchanged: the scaling never raises the maximum the
``cf`` component is divided by.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from recommender.coldstart import ColdStartScorer, catalog_text, new_paper_text
from recommender.config import ColdStartConfig
from recommender.serving.types import PaperDoc
from recommender.serving.user_state import UserState

if TYPE_CHECKING:
    from recommender.serving.hybrid import HybridRecommender


def fit_scorer(
    cfg: ColdStartConfig, papers: Sequence[PaperDoc], item_factors: np.ndarray | None
) -> ColdStartScorer | None:
    """The cold-start scorer of a model fitted on ``papers`` with ALS ``item_factors``; None when disabled or
    without CF (no factor space to map into). Catalog papers are read with their keywords and the titles of the
    catalog papers they cite (:func:`~recommender.coldstart.catalog_text`)."""
    if not cfg.enabled or item_factors is None:
        return None
    title = {p.key: p.title for p in papers}
    texts = [
        catalog_text(p.title, p.abstract, p.keywords, [title[r] for r in p.references if r in title]) for p in papers
    ]
    plain = [new_paper_text(p.title, p.abstract) for p in papers]
    components = None if cfg.components is None else [tuple(c) for c in cfg.components]
    scorer = ColdStartScorer(
        components=components,  # type: ignore[arg-type]
        neighbours=int(cfg.neighbours),
        embedding=cfg.embedding,
        min_df=int(cfg.min_df),
    )
    return scorer.fit(texts, item_factors, embedding_texts=plain)


@dataclass
class NewPaperScores:
    """The cold-start scores of the new candidates of one request."""

    positions: np.ndarray  # candidate positions of the new papers
    score: np.ndarray  # the scorer's blend over them, divided by its total weight (at most 1)
    neighbours: sp.csr_matrix | None  # their cf neighbour weights over the catalog (for reasons)


def score_new_papers(
    model: HybridRecommender,
    state: UserState,
    user_factor: np.ndarray | None,
    keys: Sequence[str],
    idx: np.ndarray,
    extra_docs: Mapping[str, PaperDoc],
) -> NewPaperScores | None:
    """Scores of the candidates unknown to the model that ``extra_docs`` describe; None when there is nothing
    to score (no scorer, no such candidate, or no ALS factor for the user)."""
    cache = getattr(model, "_new_paper_cache", None)
    if cache is None or user_factor is None:
        return None
    positions = np.flatnonzero((np.asarray(idx) < 0) & np.array([k in extra_docs for k in keys], dtype=bool))
    if not len(positions):
        return None
    new, found = cache.papers([extra_docs[keys[p]] for p in positions])
    if new is None:
        return None
    positions = positions[found]
    scorer = cache.scorer
    history = sp.csr_matrix(
        (np.asarray(state.pos_conf, dtype=np.float32), (np.zeros(len(state.pos_idx), dtype=np.int64), state.pos_idx)),
        shape=(1, scorer.n_items_),
    )
    blend = scorer.score(history, np.asarray(user_factor, dtype=np.float32)[None, :], new)["blend"][0]
    total = sum(w for *_, w in scorer.components_)
    return NewPaperScores(positions, blend / total, new.neighbours)


def new_paper_cf(cf: np.ndarray, new: NewPaperScores) -> np.ndarray:
    """The ``cf`` component's raw scores with the new papers' filled in: their cold-start score times the best
    catalog candidate's (1 when there is none), so the row's maximum, and every catalog paper's scaled score,
    stay what they were."""
    out = np.array(cf, dtype=np.float64)
    known = out[np.isfinite(out) & (out > 0)]
    top = float(known.max()) if known.size else 1.0
    out[new.positions] = new.score * top
    return out


def cold_anchors(
    model: HybridRecommender, state: UserState, new: NewPaperScores, keys: Sequence[str], min_readers: int
) -> dict[str, int]:
    """For each new candidate, the paper of the user's history among the catalog papers its factor was mapped
    from (the heaviest), when at least ``min_readers`` readers read that paper: "Readers of “Y” also read
    papers like this". Keyed by candidate key; catalog index values."""
    readers = None if model.cooccurrence_ is None else model.cooccurrence_.readers_
    pos = np.unique(state.pos_idx[state.pos_idx >= 0])
    if new.neighbours is None or readers is None or not len(pos):
        return {}
    pos = pos[readers[pos] >= min_readers]
    if not len(pos):
        return {}
    weights = new.neighbours[:, pos].toarray()
    best = weights.argmax(axis=1)
    return {str(keys[p]): int(pos[best[j]]) for j, p in enumerate(new.positions.tolist()) if weights[j, best[j]] > 0}
