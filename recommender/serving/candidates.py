"""The bounded candidate set a request ranks, the candidates' text vectors and each component's raw scores."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from recommender.models.collaborative import top_n_indices
from recommender.serving import candidate_index, cold_start
from recommender.serving.types import PaperDoc
from recommender.serving.user_state import UserState

if TYPE_CHECKING:
    from recommender.serving.hybrid import HybridRecommender
    from recommender.serving.types import UserSignals


def candidate_keys(
    model: HybridRecommender,
    state: UserState,
    signals: UserSignals,
    trending: Mapping[str, float],
    extra_docs: Mapping[str, PaperDoc],
    only: Collection[str] | None = None,
) -> list[str]:
    """The keys to rank, never an excluded one. With ``only``: those the model or ``extra_docs`` know, sorted.
    Otherwise in first-seen order: top trending, ALS, text and co-occurrence neighbours of the history, and
    every paper the model lacks."""
    if only is not None:
        keys = dict.fromkeys(k for k in sorted(only) if k in extra_docs or k in model.item_ids_)
    else:
        keys = _neighbour_keys(model, state, signals, trending, extra_docs)
    return [k for k in keys if k not in state.excluded_keys]


def _neighbour_keys(
    model: HybridRecommender,
    state: UserState,
    signals: UserSignals,
    trending: Mapping[str, float],
    extra_docs: Mapping[str, PaperDoc],
) -> dict[str, None]:
    sizes = model.config_.candidates
    excluded = state.excluded_idx[state.excluded_idx >= 0]
    item_norm = model.config_.blend_for(state.n_positive).options.cf_item_norm
    ids = model.item_ids_.keys
    cand_keys: dict[str, None] = {}
    if trending:
        tkeys = np.asarray(list(trending.keys()), dtype=object)
        tscores = np.asarray([float(v) for v in trending.values()], dtype=np.float64)
        for i in top_n_indices(tscores, int(sizes.trending), None)[0]:
            cand_keys[str(tkeys[i])] = None
    if signals.user_factor is not None:
        top = candidate_index.als_candidates(model, signals.user_factor, int(sizes.als), excluded, item_norm)
        if top is None:  # a small catalog, or a version without an index: exact
            top = model.als_.top_n(signals.user_factor, int(sizes.als), exclude=excluded, item_norm_power=item_norm)[0]
        cand_keys.update(dict.fromkeys(ids[top]))
    if signals.profile is not None:
        cand_keys.update(dict.fromkeys(ids[model.text_.top_n(signals.profile, int(sizes.text), exclude=excluded)[0]]))
    if signals.cooc_scores is not None:
        top_cooc = model.cooccurrence_.top_n(signals.cooc_scores, int(sizes.cooccurrence), exclude=excluded)
        cand_keys.update(dict.fromkeys(ids[top_cooc]))
    cand_keys.update(dict.fromkeys(extra_docs))
    return cand_keys


def candidate_vectors(
    model: HybridRecommender, keys: np.ndarray, idx: np.ndarray, extra_docs: Mapping[str, PaperDoc]
) -> sp.csr_matrix:
    """Text vectors of the candidates: stored ones for catalog papers, ``extra_docs``' text for new ones, and
    empty rows for papers with neither."""
    known = np.flatnonzero(idx >= 0)
    with_doc = np.flatnonzero((idx < 0) & np.array([k in extra_docs for k in keys], dtype=bool))
    rest = np.setdiff1d(np.arange(len(keys)), np.concatenate([known, with_doc]))
    n_terms = model.text_.item_vectors_.shape[1]
    blocks = [model.text_.vectors(idx[known])]
    if len(with_doc):
        blocks.append(model.doc_vectors([extra_docs[k] for k in keys[with_doc]]))
    blocks.append(sp.csr_matrix((len(rest), n_terms), dtype=np.float32))
    stacked = sp.vstack(blocks).tocsr()
    position = np.empty(len(keys), dtype=np.int64)
    position[np.concatenate([known, with_doc, rest])] = np.arange(len(keys))
    return stacked[position]


def component_scores(
    model: HybridRecommender,
    state: UserState,
    signals: UserSignals,
    keys: list[str],
    idx: np.ndarray,
    vectors: sp.csr_matrix,
    trending: Mapping[str, float],
    new: cold_start.NewPaperScores | None = None,
) -> dict[str, np.ndarray]:
    """Each available component's raw score of the candidates ``keys`` (catalog indices ``idx``, text
    ``vectors``); ``new``: cold-start scores of papers added after training, in place of their missing cf."""
    raw = {}
    if signals.user_factor is not None:
        cf_norm = model.cf_item_norm_for(state.n_positive)
        raw["cf"] = model.als_.score(signals.user_factor, idx, item_norm_power=cf_norm)
        if new is not None:
            raw["cf"] = cold_start.new_paper_cf(raw["cf"], new)
    if signals.cooc_scores is not None:
        raw["cooccurrence"] = model.cooccurrence_.score(signals.cooc_scores, idx)
    if signals.profile is not None:
        text = np.asarray((vectors @ signals.profile.T).todense()).ravel()
        raw["text"] = text * model.text_.specificity_weights(vectors)
    if trending:
        raw["trend"] = np.asarray([trending.get(k, 0.0) for k in keys], dtype=np.float64)
    return raw
