"""Papers similar to one paper: text cosine blended with ALS item similarity (``similar_blend``)."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from recommender.models.collaborative import top_n_indices
from recommender.models.content import display_term
from recommender.serving import candidate_index
from recommender.serving.blend import COMPONENTS, scale
from recommender.serving.diversity import distinct_titles, title_key
from recommender.serving.reasons import citation_links
from recommender.serving.types import PaperDoc, Recommendation

if TYPE_CHECKING:
    from recommender.serving.hybrid import HybridRecommender


def similar(
    model: HybridRecommender, key: str, n: int, doc: PaperDoc | None, exclude: Collection[str], co_savers_needed: int
) -> list[Recommendation]:
    """Up to ``n`` papers similar to ``key`` (``doc`` gives the text of a paper unknown to the model), best
    first, one per title; co-saver counts are only stated from ``co_savers_needed`` on."""
    item = model.item_ids_.get(key)
    vec = model.text_.vectors(np.array([item])) if item >= 0 else model.doc_vectors([doc])
    use_cf = model.als_ is not None and item >= 0
    cand = _candidates(model, key, item, vec, exclude, use_cf)
    if not len(cand):
        return []
    cvecs = model.text_.vectors(cand)
    norm = {c: np.zeros(len(cand)) for c in COMPONENTS}
    norm["text"] = scale(np.asarray((cvecs @ vec.T).todense()).ravel())
    weights = {"text": float(model.config_.similar_blend.text)}
    if use_cf:
        norm["cf"] = scale(model.als_.similar_items(item, cand))
        weights["cf"] = float(model.config_.similar_blend.cf)
    total = sum(weights.values()) or 1.0
    score = sum(w * norm[c] for c, w in weights.items()) / total
    # the query paper itself under another site's key is not "similar", it is the same paper
    same = title_key(model.item_titles_[item] if item >= 0 else doc.title)
    titles = [str(t) for t in model.item_titles_[cand]]
    keep = distinct_titles(model.item_ids_.keys[cand], titles, score, {same: frozenset({key})}, int(n))
    order = np.argsort(-score, kind="stable")
    order = order[keep[order]]
    reasons = _reasons(
        model, key if item >= 0 else doc.key, item, vec, cand, cvecs, order, norm, use_cf, co_savers_needed
    )
    return [
        Recommendation(
            key=str(model.item_ids_.keys[cand[j]]),
            score=float(score[j]),
            components={c: float(norm[c][j]) for c in COMPONENTS},
            reasons=reasons[pos],
        )
        for pos, j in enumerate(order)
    ]


def _candidates(
    model: HybridRecommender, key: str, item: int, vec: sp.csr_matrix, exclude: Collection[str], use_cf: bool
) -> np.ndarray:
    """Text neighbours and (for a paper the model knows) ALS neighbours, sorted catalog indices."""
    sizes = model.config_.candidates
    skip = model.item_ids_.lookup(sorted({str(k) for k in exclude} | {key}))
    skip = skip[skip >= 0]
    cand = set(model.text_.top_n(vec, int(sizes.text), exclude=skip)[0].tolist())
    if use_cf:
        near = candidate_index.als_neighbours(model, item, int(sizes.als), skip)
        if near is None:  # no index: every paper's similarity
            near = top_n_indices(model.als_.similar_items(item), int(sizes.als), skip)[0]
        cand |= set(near.tolist())
    return np.asarray(sorted(cand), dtype=np.int64)


def _reasons(
    model: HybridRecommender,
    query_key: str,
    item: int,
    vec: sp.csr_matrix,
    cand: np.ndarray,
    cvecs: sp.csr_matrix,
    order: np.ndarray,
    norm: dict[str, np.ndarray],
    use_cf: bool,
    co_savers_needed: int,
) -> list[list[str]]:
    """The reasons of each kept candidate (in ``order``): citation, shared terms, co-savers or audience."""
    co = None
    if item >= 0:
        saves = model.saves_csc
        co = (saves[:, [item]].T @ saves[:, cand[order]]).toarray().ravel()
    cite, cite_verb = citation_links(
        model.text_,
        [str(k) for k in model.item_ids_.keys[cand[order]]],
        cvecs[order],
        [query_key],
        vec,
        np.ones(1, dtype=bool),
    )
    out = []
    for pos, j in enumerate(order):
        reasons = []
        if cite[pos] >= 0:
            reasons.append(f"{cite_verb[pos]} this paper")
        terms = shared_terms(model, vec, cvecs[j])
        if terms:
            reasons.append("Shares key terms: " + ", ".join(terms))
        if co is not None and co[pos] >= co_savers_needed:
            c = int(co[pos])
            reasons.append(
                f"{c} readers who saved this paper also saved it"
                if c != 1
                else "A reader who saved this paper also saved it"
            )
        elif use_cf and norm["cf"][j] > 0.5 and not reasons:
            reasons.append("Read by a similar audience")
        out.append(reasons or ["Related topic"])
    return out


def shared_terms(model: HybridRecommender, a: sp.csr_matrix, b: sp.csr_matrix, k: int = 3) -> list[str]:
    """Up to ``k`` terms weighing most in both vectors, for display."""
    prod = a.multiply(b).tocsr()
    if prod.nnz == 0:
        return []
    terms = model.feature_names()
    top = prod.indices[np.argsort(-prod.data, kind="stable")]
    # Prefer terms that are not just a piece of an already chosen bigram.
    chosen: list[str] = []
    for term in terms[top]:
        t = display_term(str(term))
        if t is None or any(t in c.split() or c in t.split() or t == c for c in chosen):
            continue
        chosen.append(t)
        if len(chosen) == k:
            break
    return chosen
