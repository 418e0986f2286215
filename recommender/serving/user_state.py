"""What the recommender knows about one user at request time, built from their own interaction log."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from recommender.interactions import InteractionData, build_matrix
from recommender.serving.diversity import title_keys
from recommender.serving.types import HistoryEvent, PaperDoc

if TYPE_CHECKING:
    from recommender.serving.hybrid import HybridRecommender


@dataclass
class UserState:
    """One user's positives, saves and exclusions, in catalog indices where possible."""

    pos_idx: np.ndarray  # catalog indices with positive confidence
    pos_conf: np.ndarray
    saved_idx: np.ndarray  # catalog indices currently saved
    excluded_idx: np.ndarray  # catalog indices never to return (saved, dismissed, exclude)
    excluded_keys: set[str]
    extra_pos_vectors: sp.csr_matrix | None = None  # positives unknown to the catalog, with text
    extra_pos_conf: np.ndarray | None = None
    extra_pos_titles: list[str] = field(default_factory=list)
    extra_pos_keys: list[str] = field(default_factory=list)
    extra_pos_saved: np.ndarray | None = None
    negative_vectors: sp.csr_matrix | None = None
    # title_key of every paper in the history or ``exclude`` -> the keys it has there
    seen_titles: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @property
    def personalised(self) -> bool:
        return self.n_positive > 0

    @property
    def n_positive(self) -> int:
        return len(self.pos_idx) + (len(self.extra_pos_conf) if self.extra_pos_conf is not None else 0)


def state_from_history(
    model: HybridRecommender,
    history: Sequence[HistoryEvent],
    extra_docs: Mapping[str, PaperDoc],
    exclude: Collection[str],
    now: datetime | None,
) -> UserState:
    """The state of the user whose own log rows are ``history``; ``extra_docs`` give text to papers the model
    does not know."""
    excluded_keys = {str(k) for k in exclude}
    titles = {k: doc.title for k, doc in extra_docs.items()}
    if not history:
        empty_idx = np.zeros(0, dtype=np.int64)
        return UserState(
            empty_idx, np.zeros(0), empty_idx, model.item_ids_.lookup(sorted(excluded_keys)), excluded_keys
        )
    data = _history_matrix(model, history, now)
    hkeys = np.asarray(data.items.keys, dtype=object)
    conf = np.asarray(data.matrix.toarray()).ravel()
    saved = np.asarray(data.saved.toarray()).ravel() > 0
    dismissed = np.asarray(data.dismissed.toarray()).ravel() > 0
    excluded_keys |= set(hkeys[saved].tolist()) | set(hkeys[dismissed].tolist())
    cat = model.item_ids_.lookup(hkeys)
    pos = (conf > 0) & (cat >= 0)
    state = UserState(
        pos_idx=cat[pos],
        pos_conf=conf[pos],
        saved_idx=cat[saved & (cat >= 0)],
        excluded_idx=model.item_ids_.lookup(sorted(excluded_keys)),
        excluded_keys=excluded_keys,
    )
    extra_pos = (conf > 0) & (cat < 0) & np.array([k in extra_docs for k in hkeys], dtype=bool)
    if np.any(extra_pos):
        _add_extra_positives(model, state, [extra_docs[k] for k in hkeys[extra_pos]], conf[extra_pos], saved[extra_pos])
    neg_docs = [extra_docs[k] for k in hkeys[dismissed & (cat < 0)] if k in extra_docs]
    state.negative_vectors = _negative_vectors(model, cat[dismissed & (cat >= 0)], neg_docs)
    seen = list(set(hkeys.tolist()) | excluded_keys)
    state.seen_titles = title_keys(seen, lambda k: model.title_of(k, titles, default=""))
    return state


def _history_matrix(model: HybridRecommender, history: Sequence[HistoryEvent], now: datetime | None) -> InteractionData:
    for ev in history:
        if not isinstance(ev, HistoryEvent):
            raise ValueError(f"history must hold HistoryEvent items, got {type(ev).__name__}")
    events = model.config_.events
    return build_matrix(
        np.zeros(len(history), dtype=np.int64),
        [ev.key for ev in history],
        [ev.type for ev in history],
        np.asarray([ev.occurred_at for ev in history], dtype=object),
        weights=events.weights,
        half_life_days=events.half_life_days,
        now=now,
    )


def _add_extra_positives(
    model: HybridRecommender, state: UserState, docs: list[PaperDoc], conf: np.ndarray, saved: np.ndarray
) -> None:
    state.extra_pos_vectors = model.doc_vectors(docs)
    state.extra_pos_conf = conf
    state.extra_pos_titles = [d.title for d in docs]
    state.extra_pos_keys = [d.key for d in docs]
    state.extra_pos_saved = saved


def _negative_vectors(model: HybridRecommender, known: np.ndarray, docs: list[PaperDoc]) -> sp.csr_matrix | None:
    parts = []
    if len(known):
        parts.append(model.text_.vectors(known))
    if docs:
        parts.append(model.doc_vectors(docs))
    return sp.vstack(parts).tocsr() if parts else None


def state_from_row(model: HybridRecommender, items: np.ndarray, conf: np.ndarray, saved: np.ndarray) -> UserState:
    """The state of a user given as a row of the training matrix (offline evaluation)."""
    items = np.asarray(items, dtype=np.int64)
    keys = model.item_ids_.keys[items].tolist()
    return UserState(
        pos_idx=items,
        pos_conf=np.asarray(conf, dtype=np.float64),
        saved_idx=np.asarray(saved, dtype=np.int64),
        excluded_idx=items,
        excluded_keys=set(keys),
        seen_titles=title_keys(keys, lambda k: model.title_of(k, {}, default="")),
    )


def text_profile(model: HybridRecommender, state: UserState) -> sp.csr_matrix | None:
    """The user's text profile: their positives' vectors weighted by confidence, pushed from dismissals."""
    vecs, weights = [], []
    if len(state.pos_idx):
        vecs.append(model.text_.vectors(state.pos_idx))
        weights.append(state.pos_conf)
    if state.extra_pos_vectors is not None:
        vecs.append(state.extra_pos_vectors)
        weights.append(state.extra_pos_conf)
    if not vecs:
        return None
    return model.text_.profile(sp.vstack(vecs).tocsr(), np.concatenate(weights), negative=state.negative_vectors)
