"""Hybrid recommender: ALS + item co-occurrence + TF-IDF text + trending, blended per request, diversified,
explained.

Per request, each component is scaled to [0, 1] over the candidate set (negative and missing values, e.g. CF
for a paper added after training, count as 0; the best candidate gets 1) and blended with the configured
weights; a component that is unavailable for the request (no CF factor, no text profile, no trending input) is
left out and the remaining weights are renormalised. Users with at least ``blend_long_history.min_items``
positive papers are blended with the ``blend_long_history`` weights instead of ``blend``: a longer history pins
down the text profile and the user's direction in factor space. Each of the two sections also sets
``cf_item_norm``, the power of the item factor's norm that CF scores are divided by (0 = ALS dot product, 1 =
cosine of user and item factor), and ``popularity_discount``, the power of ``1 + readers`` the blended score is
divided by. See docs/recommender.md.
"""

from __future__ import annotations

import copy
import functools
import logging
import re
import unicodedata
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommender.collaborative import ALSRecommender, top_n_indices
from recommender.config import merge_config
from recommender.content import TextModel, display_term, doc_text
from recommender.cooccurrence import ItemCooccurrence
from recommender.doc_cache import DocVectorCache
from recommender.interactions import IdMap, InteractionData, build_matrix

log = logging.getLogger(__name__)

COMPONENTS = ("cf", "cooccurrence", "text", "trend")
# per-section settings besides the component weights
BLEND_OPTIONS = ("min_items", "cf_item_norm", "popularity_discount")
COLD_START_HINT = "save papers to personalise this list"


@dataclass(frozen=True)
class PaperDoc:
    key: str
    title: str
    abstract: str = ""
    keywords: tuple[str, ...] = ()
    published_at: datetime | None = None
    references: tuple[str, ...] = ()  # keys of the papers it cites

    @functools.cached_property
    def text(self) -> str:
        # its own key is a link too: a paper and the papers citing it then share that token. Cached: a server
        # process keeps the docs of papers added after the retrain and reads their text on every request.
        return doc_text(self.title, self.abstract, self.keywords, links=(self.key, *self.references))


@dataclass(frozen=True)
class HistoryEvent:
    """One row of the user's own interaction log."""

    key: str
    type: str
    occurred_at: datetime


@dataclass
class Recommendation:
    key: str
    score: float
    components: dict[str, float]
    reasons: list[str] = field(default_factory=list)


@dataclass
class _UserState:
    """What the recommender knows about one user at request time, in catalog indices where possible."""

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
    # _title_key of every paper in the history or ``exclude`` -> the keys it has there
    seen_titles: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @property
    def personalised(self) -> bool:
        return self.n_positive > 0

    @property
    def n_positive(self) -> int:
        return len(self.pos_idx) + (len(self.extra_pos_conf) if self.extra_pos_conf is not None else 0)


# Titles shorter than this many words ("Editorial", "Introduction") may name different papers.
MIN_TITLE_WORDS = 4


@functools.lru_cache(maxsize=200_000)
def _title_key(title: str) -> str:
    """A paper's title reduced to its words, for telling the same paper apart under two sites' keys ("" for
    titles too short to tell)."""
    words = re.findall(r"\w+", unicodedata.normalize("NFKC", str(title)).casefold())
    return " ".join(words) if len(words) >= MIN_TITLE_WORDS else ""


def _trending_reason(window_label: str, readers: int, min_readers: int) -> str:
    """The trending reason, with the reader count only when at least ``min_readers`` readers make it up."""
    if readers < min_readers:
        return f"Trending {window_label}"
    return f"Trending {window_label}: {readers} reader{'s' if readers != 1 else ''}"


def _shorten(title: str, limit: int = 90) -> str:
    title = " ".join(str(title).split())
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"


def _scale(values: np.ndarray) -> np.ndarray:
    """Per-request normalisation: negatives and missing values -> 0, then divide by the candidate maximum.

    Unlike min-max, 0 keeps meaning "no evidence" and a lone or tied candidate is not pushed to 0.
    """
    out = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    np.maximum(out, 0.0, out=out)
    top = out.max() if len(out) else 0.0
    return out / top if top > 0 else out


def _reader_threshold(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{where} must be an integer >= 1, got {value!r}")
    return int(value)


def _check_blends(cfg: Mapping[str, Any]) -> None:
    """Blend weights and ``cf_item_norm`` must be non-negative numbers and ``min_items`` a non-negative integer:
    a bad config file fails the retrain (or the load) with the key it got wrong, never a request."""
    for section in ("blend", "blend_long_history"):
        for key, value in (cfg.get(section) or {}).items():
            where = f"{section}.{key}"
            if key == "min_items":
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise ValueError(f"config key {where!r} must be an integer >= 0, got {value!r}")
            elif key not in COMPONENTS and key not in BLEND_OPTIONS:
                raise ValueError(f"unknown config key {where!r}")
            elif isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
                raise ValueError(f"config key {where!r} must be a number >= 0, got {value!r}")


class HybridRecommender:
    """ALS + co-occurrence + text + trending hybrid. Build with :meth:`fit` (or :func:`recommender.training.train`)."""

    def __init__(self, *, config: Mapping[str, Any] | None = None) -> None:
        self.config = config

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        papers: Sequence[PaperDoc],
        data: InteractionData,
        *,
        text_model: TextModel | None = None,
        show_progress: bool = False,
    ) -> HybridRecommender:
        """Fit on the catalog ``papers`` and ``data`` (built with ``item_keys`` = the paper keys, in order).

        ``text_model``, when given, must already be fitted on the same papers (it is reused as is).
        """
        cfg = merge_config(self.config)
        if len(papers) == 0:
            raise ValueError("nothing to train on: no papers")
        keys = [p.key for p in papers]
        if len(data.items) != len(keys) or data.items.keys.tolist() != keys:
            raise ValueError("data.items must be the paper keys in catalog order (build_matrix(item_keys=...))")
        if text_model is None:
            text_model = TextModel(**cfg["text"]).fit([p.text for p in papers])
        elif text_model.n_items_ != len(papers):
            raise ValueError(f"text_model covers {text_model.n_items_} items, catalog has {len(papers)}")
        als = cooc = None
        if data.matrix.nnz:
            als = ALSRecommender(**cfg["als"]).fit(
                data.matrix, item_features=text_model.item_vectors_, show_progress=show_progress
            )
            cooc = ItemCooccurrence(**cfg["cooccurrence"]).fit(data.matrix)
        titles = [p.title for p in papers]
        return self._set_fitted(cfg, text_model, als, keys, titles, data.saved, cooc, data.users.keys)

    @classmethod
    def from_parts(
        cls,
        *,
        config: Mapping[str, Any],
        text: TextModel,
        als: ALSRecommender | None,
        item_keys: Sequence[str],
        item_titles: Sequence[str],
        saves: sp.spmatrix,
        cooccurrence: ItemCooccurrence | None = None,
        user_keys: Sequence[str] | None = None,
    ) -> HybridRecommender:
        """Assemble a fitted recommender from its parts (used by :mod:`recommender.store`).

        ``user_keys`` names the user of each row of ``saves``. Without it nobody's rows could be removed on
        request, so the saves are dropped: the model then gives no co-saver reasons."""
        cfg = merge_config(config)
        model = cls(config=cfg)
        n = len(item_keys)
        if (
            text.n_items_ != n
            or len(item_titles) != n
            or saves.shape[1] != n
            or (als and als.n_items_ != n)
            or (cooccurrence and cooccurrence.n_items_ != n)
            or (user_keys is not None and len(user_keys) != saves.shape[0])
        ):
            raise ValueError(f"inconsistent model parts for {n} items")
        if user_keys is None:
            saves, user_keys = sp.csr_matrix((0, n), dtype=np.float32), []
        return model._set_fitted(cfg, text, als, item_keys, item_titles, saves, cooccurrence, user_keys)

    def _set_fitted(
        self,
        cfg: dict[str, Any],
        text: TextModel,
        als: ALSRecommender | None,
        keys: Sequence[str],
        titles: Sequence[str],
        saves: sp.spmatrix,
        cooccurrence: ItemCooccurrence | None,
        user_keys: Sequence[object],
    ) -> HybridRecommender:
        _check_blends(cfg)
        _reader_threshold(cfg["reasons"]["min_readers"], "config key 'reasons.min_readers'")
        self.config_ = cfg
        self.text_ = text
        self._doc_cache = DocVectorCache(text)
        self.als_ = als
        self.cooccurrence_ = cooccurrence
        self.item_ids_ = IdMap(keys)
        self.item_titles_ = np.asarray(list(titles), dtype=object)
        self.saves_ = sp.csr_matrix(saves, dtype=np.float32)
        self._saves_csc = self.saves_.tocsc()
        # the user of each row of saves_, as strings (erasure requests name users by their id)
        self.user_keys_ = np.asarray([str(k) for k in user_keys], dtype=object)
        self._terms: np.ndarray | None = None
        return self

    def without_users(self, user_keys: Collection[object]) -> HybridRecommender:
        """A copy of this model without the rows of ``user_keys`` in ``saves_`` (users erased since training).

        Returns ``self`` when none of them has a row. Never changes this object: requests may be reading it.
        Aggregates fitted on everyone (ALS item factors, co-occurrence similarities and counts) are kept; they
        lose the user at the next training."""
        self._check_fitted()
        drop = np.isin(self.user_keys_, np.asarray([str(k) for k in user_keys], dtype=object))
        if not drop.any():
            return self
        clone = copy.copy(self)
        clone.saves_ = sp.csr_matrix(self.saves_[~drop])
        clone._saves_csc = clone.saves_.tocsc()
        clone.user_keys_ = self.user_keys_[~drop]
        return clone

    def reader_threshold(self, min_readers: int | None = None) -> int:
        """The k of k-anonymous reasons: ``min_readers`` when given, else the config's ``reasons.min_readers``.

        A reason that counts readers (co-savers, readers of a paper, trending readers) is only given when at
        least k distinct readers stand behind it."""
        self._check_fitted()
        if min_readers is None:
            return _reader_threshold(self.config_["reasons"]["min_readers"], "config key 'reasons.min_readers'")
        return _reader_threshold(min_readers, "min_readers")

    def _co_saver_threshold(self, k: int) -> int:
        # min_co_savers can only raise the privacy threshold, never lower it
        return max(k, int(self.config_["reasons"]["min_co_savers"]))

    def _check_fitted(self) -> None:
        if not hasattr(self, "config_"):
            raise ValueError("this HybridRecommender is not fitted yet; call fit() or load one from a store")

    @property
    def n_items(self) -> int:
        self._check_fitted()
        return len(self.item_ids_)

    def __contains__(self, key: object) -> bool:
        return hasattr(self, "item_ids_") and key in self.item_ids_

    @property
    def blend_weights(self) -> dict[str, float]:
        """The blend for short histories (``blend``); see :meth:`blend_for`."""
        self._check_fitted()
        return {k: float(v) for k, v in self.config_["blend"].items()}

    def _blend_section(self, n_positive: int) -> Mapping[str, Any]:
        self._check_fitted()
        long = self.config_.get("blend_long_history") or {}
        if 0 < long.get("min_items", 0) <= n_positive:
            return long
        return self.config_["blend"]

    def blend_for(self, n_positive: int) -> dict[str, float]:
        """Blend weights for a user with ``n_positive`` positive papers in their history."""
        section = self._blend_section(n_positive)
        return {c: float(section.get(c, 0.0)) for c in COMPONENTS}

    def cf_item_norm_for(self, n_positive: int) -> float:
        """The ``cf_item_norm`` power for a user with ``n_positive`` positive papers (0 when not set)."""
        return float(self._blend_section(n_positive).get("cf_item_norm", 0.0))

    def popularity_discount_for(self, n_positive: int) -> float:
        """The ``popularity_discount`` power for a user with ``n_positive`` positive papers (0 when not set):
        the blended score is multiplied by ``(1 + readers) ** -power``."""
        return float(self._blend_section(n_positive).get("popularity_discount", 0.0))

    def _popularity_weights(self, idx: np.ndarray, power: float) -> np.ndarray:
        if self.cooccurrence_ is None:  # the reader counts live with the co-occurrence part
            return np.ones(len(idx), dtype=np.float32)
        return self.cooccurrence_.popularity_weights(idx, power)

    # ------------------------------------------------------------------ request state
    def _state_from_history(
        self,
        history: Sequence[HistoryEvent],
        extra_docs: Mapping[str, PaperDoc],
        exclude: Collection[str],
        now: datetime | None,
    ) -> tuple[_UserState, dict[str, str]]:
        cfg = self.config_
        excluded_keys = {str(k) for k in exclude}
        titles = {k: doc.title for k, doc in extra_docs.items()}
        empty_idx = np.zeros(0, dtype=np.int64)
        if not history:
            return _UserState(
                empty_idx, np.zeros(0), empty_idx, self.item_ids_.lookup(sorted(excluded_keys)), excluded_keys
            ), titles
        for ev in history:
            if not isinstance(ev, HistoryEvent):
                raise ValueError(f"history must hold HistoryEvent items, got {type(ev).__name__}")
        data = build_matrix(
            np.zeros(len(history), dtype=np.int64),
            [ev.key for ev in history],
            [ev.type for ev in history],
            np.asarray([ev.occurred_at for ev in history], dtype=object),
            weights=cfg["events"]["weights"],
            half_life_days=cfg["events"]["half_life_days"],
            now=now,
        )
        hkeys = np.asarray(data.items.keys, dtype=object)
        conf = np.asarray(data.matrix.toarray()).ravel()
        saved = np.asarray(data.saved.toarray()).ravel() > 0
        dismissed = np.asarray(data.dismissed.toarray()).ravel() > 0
        excluded_keys |= set(hkeys[saved].tolist()) | set(hkeys[dismissed].tolist())
        cat = self.item_ids_.lookup(hkeys)

        pos = (conf > 0) & (cat >= 0)
        extra_pos = (conf > 0) & (cat < 0) & np.array([k in extra_docs for k in hkeys], dtype=bool)
        state = _UserState(
            pos_idx=cat[pos],
            pos_conf=conf[pos],
            saved_idx=cat[saved & (cat >= 0)],
            excluded_idx=self.item_ids_.lookup(sorted(excluded_keys)),
            excluded_keys=excluded_keys,
        )
        if np.any(extra_pos):
            docs = [extra_docs[k] for k in hkeys[extra_pos]]
            state.extra_pos_vectors = self._doc_cache.vectors(docs)
            state.extra_pos_conf = conf[extra_pos]
            state.extra_pos_titles = [d.title for d in docs]
            state.extra_pos_keys = [d.key for d in docs]
            state.extra_pos_saved = saved[extra_pos]
        neg_known = cat[dismissed & (cat >= 0)]
        neg_docs = [extra_docs[k] for k in hkeys[dismissed & (cat < 0)] if k in extra_docs]
        parts = []
        if len(neg_known):
            parts.append(self.text_.vectors(neg_known))
        if neg_docs:
            parts.append(self._doc_cache.vectors(neg_docs))
        if parts:
            state.negative_vectors = sp.vstack(parts).tocsr()
        state.seen_titles = self._title_keys(list(set(hkeys.tolist()) | excluded_keys), titles)
        return state, titles

    def _title_keys(self, keys: Sequence[str], extra_titles: Mapping[str, str]) -> dict[str, frozenset[str]]:
        idx = self.item_ids_.lookup(np.asarray(keys, dtype=object))
        out: dict[str, set[str]] = {}
        for k, i in zip(keys, idx.tolist(), strict=True):
            t = _title_key(self._title(i, k, extra_titles, default=""))
            if t:
                out.setdefault(t, set()).add(str(k))
        return {t: frozenset(ks) for t, ks in out.items()}

    def _distinct_titles(
        self,
        keys: np.ndarray,
        idx: np.ndarray,
        extra_titles: Mapping[str, str],
        score: np.ndarray,
        seen: Mapping[str, frozenset[str]],
        limit: int,
    ) -> np.ndarray:
        """Keep-mask over candidates: the same paper often exists under several sites' keys (arXiv,
        OpenReview, Semantic Scholar). Drop candidates whose title is one of the user's own papers under another
        key (the key itself follows the usual rules), and all but the best-scored of candidates sharing a
        title. Only the best ``limit`` kept candidates are looked at; the rest are marked dropped."""
        keep = np.zeros(len(keys), dtype=bool)
        best: set[str] = set()
        kept = 0
        for j in np.argsort(-score, kind="stable").tolist():
            if kept >= limit:
                break
            t = _title_key(self._title(int(idx[j]), str(keys[j]), extra_titles, default=""))
            if t and ((t in seen and str(keys[j]) not in seen[t]) or t in best):
                continue
            best.add(t)
            keep[j] = True
            kept += 1
        return keep

    def _state_from_row(self, items: np.ndarray, conf: np.ndarray, saved: np.ndarray) -> _UserState:
        """State for a user given as a row of the training matrix (offline evaluation)."""
        items = np.asarray(items, dtype=np.int64)
        return _UserState(
            pos_idx=items,
            pos_conf=np.asarray(conf, dtype=np.float64),
            saved_idx=np.asarray(saved, dtype=np.int64),
            excluded_idx=items,
            excluded_keys=set(self.item_ids_.keys[items].tolist()),
            seen_titles=self._title_keys(self.item_ids_.keys[items].tolist(), {}),
        )

    def _text_profile(self, state: _UserState) -> sp.csr_matrix | None:
        vecs, weights = [], []
        if len(state.pos_idx):
            vecs.append(self.text_.vectors(state.pos_idx))
            weights.append(state.pos_conf)
        if state.extra_pos_vectors is not None:
            vecs.append(state.extra_pos_vectors)
            weights.append(state.extra_pos_conf)
        if not vecs:
            return None
        return self.text_.profile(sp.vstack(vecs).tocsr(), np.concatenate(weights), negative=state.negative_vectors)

    # ------------------------------------------------------------------ recommend
    def recommend(
        self,
        history: Sequence[HistoryEvent],
        *,
        n: int = 20,
        trending: Mapping[str, float] | None = None,
        trending_readers: Mapping[str, int] | None = None,
        extra_docs: Sequence[PaperDoc] = (),
        exclude: Collection[str] = (),
        now: datetime | None = None,
        window_label: str = "this week",
        min_readers: int | None = None,
        only: Collection[str] | None = None,
    ) -> list[Recommendation]:
        """Personalised list for the user whose own log rows are ``history`` (oldest first).

        Never returns a paper that is currently saved or dismissed in ``history``, nor one in ``exclude``.
        ``only`` (when given) restricts the list to those papers, each scored in full (a bounded set such as the
        papers announced today: "new for you"); keys neither in the model nor in ``extra_docs`` are ignored.
        ``extra_docs`` are papers unknown to the model (added after training): they become candidates and give
        text to history entries the model does not know. Reasons never state a count of fewer than
        ``min_readers`` readers (see :meth:`reader_threshold`).
        """
        self._check_fitted()
        if int(n) < 1:
            raise ValueError(f"n must be >= 1, got {n!r}")
        k = self.reader_threshold(min_readers)
        docs = {}
        for d in extra_docs:
            if not isinstance(d, PaperDoc):
                raise ValueError(f"extra_docs must hold PaperDoc items, got {type(d).__name__}")
            docs[d.key] = d
        state, extra_titles = self._state_from_history(history, docs, exclude, now)
        return self._recommend(
            state,
            n=int(n),
            trending=dict(trending or {}),
            readers=dict(trending_readers or {}),
            extra_docs=docs,
            extra_titles=extra_titles,
            window_label=window_label,
            with_reasons=True,
            min_readers=k,
            only=None if only is None else {str(key) for key in only},
        )

    def _recommend(
        self,
        state: _UserState,
        *,
        n: int,
        trending: dict[str, float],
        readers: dict[str, int],
        extra_docs: Mapping[str, PaperDoc],
        extra_titles: Mapping[str, str],
        window_label: str,
        with_reasons: bool,
        min_readers: int | None = None,
        only: set[str] | None = None,
    ) -> list[Recommendation]:
        cfg = self.config_
        user_factor = None
        if self.als_ is not None and len(state.pos_idx):
            user_factor = self.als_.fold_in(state.pos_idx, state.pos_conf)
        item_norm = self.cf_item_norm_for(state.n_positive)
        cooc_scores = None
        if self.cooccurrence_ is not None and len(state.pos_idx):
            cooc_scores = self.cooccurrence_.catalog_scores(state.pos_idx)
        profile = self._text_profile(state)

        if only is not None:
            cand_keys = dict.fromkeys(k for k in sorted(only) if k in extra_docs or k in self.item_ids_)
        else:
            cand_keys = self._candidate_keys(state, user_factor, profile, cooc_scores, trending, extra_docs)
        keys = [k for k in cand_keys if k not in state.excluded_keys]
        if not keys:
            return []
        keys_arr = np.asarray(keys, dtype=object)
        idx = self.item_ids_.lookup(keys_arr)
        vectors = self._candidate_vectors(keys_arr, idx, extra_docs)

        raw = {
            "cf": self.als_.score(user_factor, idx, item_norm_power=item_norm) if user_factor is not None else None,
            "cooccurrence": self.cooccurrence_.score(cooc_scores, idx) if cooc_scores is not None else None,
            "text": (
                np.asarray((vectors @ profile.T).todense()).ravel() * self.text_.specificity_weights(vectors)
                if profile is not None
                else None
            ),
            "trend": np.asarray([trending.get(k, 0.0) for k in keys], dtype=np.float64) if trending else None,
        }
        blend = self.blend_for(state.n_positive)
        weights = {c: blend[c] for c in COMPONENTS if raw[c] is not None}
        if only is not None:
            # A given set (papers newer than the model) may have no evidence at all from a component (no
            # reader yet: cf and co-occurrence all 0). Its weight would only shrink every score, and MMR would
            # then trade relevance for diversity far more than configured.
            weights = {c: w for c, w in weights.items() if np.any(np.asarray(raw[c]) > 0)}
        total = sum(weights.values())
        if total <= 0:
            # Only zero-weight components are available (a cold user, trend weight 0): rank by those.
            weights = {c: 1.0 for c in weights}
            total = float(len(weights)) or 1.0
        norm = {c: (_scale(raw[c]) if raw[c] is not None else np.zeros(len(keys))) for c in COMPONENTS}
        score = sum(weights.get(c, 0.0) * norm[c] for c in COMPONENTS) / total
        discount = self.popularity_discount_for(state.n_positive)
        if discount:
            score = score * self._popularity_weights(idx, discount)

        pool = self._mmr_pool_size(n)
        valid = np.flatnonzero(self._distinct_titles(keys_arr, idx, extra_titles, score, state.seen_titles, pool))
        order = valid[self._mmr(score[valid], vectors[valid], n, float(cfg["mmr_lambda"]))].tolist()
        out = []
        for j in order:
            comps = {c: float(norm[c][j]) for c in COMPONENTS}
            out.append(Recommendation(key=str(keys[j]), score=float(score[j]), components=comps))
        if with_reasons:
            self._explain(
                out,
                [int(idx[j]) for j in order],
                vectors[order],
                state,
                readers,
                extra_titles,
                window_label,
                weights,
                self.reader_threshold(min_readers),
            )
        return out

    def _candidate_keys(
        self,
        state: _UserState,
        user_factor: np.ndarray | None,
        profile: sp.csr_matrix | None,
        cooc_scores: np.ndarray | None,
        trending: Mapping[str, float],
        extra_docs: Mapping[str, PaperDoc],
    ) -> dict[str, None]:
        """The bounded candidate set, in first-seen order: top trending, ALS, text and co-occurrence neighbours
        of the history, and every paper the model lacks."""
        sizes = self.config_["candidates"]
        excluded = state.excluded_idx[state.excluded_idx >= 0]
        item_norm = self.cf_item_norm_for(state.n_positive)
        cand_keys: dict[str, None] = {}
        if trending:
            tkeys = np.asarray(list(trending.keys()), dtype=object)
            tscores = np.asarray([float(v) for v in trending.values()], dtype=np.float64)
            for i in top_n_indices(tscores, int(sizes["trending"]), None)[0]:
                cand_keys[str(tkeys[i])] = None
        if user_factor is not None:
            for i in self.als_.top_n(user_factor, int(sizes["als"]), exclude=excluded, item_norm_power=item_norm)[0]:
                cand_keys[self.item_ids_.keys[i]] = None
        if profile is not None:
            for i in self.text_.top_n(profile, int(sizes["text"]), exclude=excluded)[0]:
                cand_keys[self.item_ids_.keys[i]] = None
        if cooc_scores is not None:
            for i in self.cooccurrence_.top_n(cooc_scores, int(sizes["cooccurrence"]), exclude=excluded):
                cand_keys[self.item_ids_.keys[i]] = None
        for k in extra_docs:
            cand_keys[k] = None
        return cand_keys

    def _candidate_vectors(
        self, keys: np.ndarray, idx: np.ndarray, extra_docs: Mapping[str, PaperDoc]
    ) -> sp.csr_matrix:
        known = np.flatnonzero(idx >= 0)
        with_doc = np.flatnonzero((idx < 0) & np.array([k in extra_docs for k in keys], dtype=bool))
        rest = np.setdiff1d(np.arange(len(keys)), np.concatenate([known, with_doc]))
        n_terms = self.text_.item_vectors_.shape[1]
        blocks = [self.text_.vectors(idx[known])]
        if len(with_doc):
            blocks.append(self._doc_cache.vectors([extra_docs[k] for k in keys[with_doc]]))
        blocks.append(sp.csr_matrix((len(rest), n_terms), dtype=np.float32))
        stacked = sp.vstack(blocks).tocsr()
        position = np.empty(len(keys), dtype=np.int64)
        position[np.concatenate([known, with_doc, rest])] = np.arange(len(keys))
        return stacked[position]

    @staticmethod
    def _mmr_pool_size(n: int) -> int:
        return max(3 * n, n + 50)

    @staticmethod
    def _mmr(score: np.ndarray, vectors: sp.csr_matrix, n: int, lam: float) -> list[int]:
        """Greedy maximal marginal relevance over the best-scored pool, text cosine as redundancy."""
        pool = np.argsort(-score, kind="stable")[: HybridRecommender._mmr_pool_size(n)]
        if lam >= 1.0 or len(pool) <= 1:
            return pool[:n].tolist()
        sims = np.asarray((vectors[pool] @ vectors[pool].T).todense())
        rel = score[pool]
        max_sim = np.zeros(len(pool))
        chosen = np.zeros(len(pool), dtype=bool)
        picked = []
        for _ in range(min(n, len(pool))):
            value = np.where(chosen, -np.inf, lam * rel - (1.0 - lam) * max_sim)
            j = int(np.argmax(value))
            chosen[j] = True
            picked.append(int(pool[j]))
            max_sim = np.maximum(max_sim, sims[j])
        return picked

    # ------------------------------------------------------------------ batch scoring (offline evaluation)
    def score_matrix(
        self,
        user_items: sp.spmatrix,
        *,
        component: str = "blend",
        trending: np.ndarray | None = None,
    ) -> np.ndarray:
        """Scores of every catalog item for a batch of users given as rows of a users x items confidence
        matrix (dense ``n_users x n_items`` float32). The users' own items are excluded from the scaling.

        ``component`` is one of :data:`COMPONENTS` for that component's raw scores, or ``"blend"``
        for the hybrid score: each component scaled per user exactly as :meth:`recommend` scales it over its
        candidates (:func:`_scale`: negatives -> 0, divided by the best item) and blended with the configured
        weights for the row's history length (:meth:`blend_for`, the row's non-zero count). ``trending`` is one
        trend score per catalog item (offline: training popularity).
        This is the vectorised form of the request path's ranking (before MMR and reasons), used by the
        evaluation harness to rank the whole catalog.
        """
        self._check_fitted()
        if component not in ("blend", *COMPONENTS):
            raise ValueError(f"component must be 'blend' or one of {COMPONENTS}, got {component!r}")
        user_items = self._check_rows(user_items)
        want = COMPONENTS if component == "blend" else (component,)
        raw = self.component_scores(user_items, components=want, trending=trending)
        if component == "blend":
            return self.blend_scores(user_items, raw)
        if component not in raw:
            return np.zeros(user_items.shape, dtype=np.float32)
        return np.asarray(raw[component], dtype=np.float32)

    @staticmethod
    def _row_powers(n_pos: np.ndarray, power_for: Callable[[int], float]) -> np.ndarray:
        """One power per row, looked up once per distinct history length."""
        by_length = {n: power_for(int(n)) for n in np.unique(n_pos)}
        return np.array([by_length[n] for n in n_pos], dtype=np.float64)

    def _check_rows(self, user_items: sp.spmatrix) -> sp.csr_matrix:
        user_items = sp.csr_matrix(user_items, dtype=np.float32)
        if user_items.shape[1] != self.n_items:
            raise ValueError(f"user_items has {user_items.shape[1]} columns, the model {self.n_items} items")
        return user_items

    def component_scores(
        self,
        user_items: sp.spmatrix,
        *,
        components: Sequence[str] = COMPONENTS,
        trending: np.ndarray | None = None,
        cf_item_norm: float | None = None,
    ) -> dict[str, np.ndarray]:
        """Raw scores of every catalog item per component for the rows of ``user_items`` (the first step of
        :meth:`score_matrix`; components the model lacks are left out). CF scores each row with the
        ``cf_item_norm`` of its history length, or with ``cf_item_norm`` for every row when given."""
        self._check_fitted()
        user_items = self._check_rows(user_items)
        unknown = set(components) - set(COMPONENTS)
        if unknown:
            raise ValueError(f"unknown component(s) {sorted(unknown)}; choose from {COMPONENTS}")
        n_pos = np.diff(user_items.indptr)
        raw: dict[str, np.ndarray] = {}
        if "cf" in components and self.als_ is not None:
            raw["cf"] = self.als_.fold_in_rows(user_items) @ self.als_.item_factors_.T
            # each row scored with the cf_item_norm of its history length, as in recommend()
            if cf_item_norm is None:
                powers = self._row_powers(n_pos, self.cf_item_norm_for)
            else:
                powers = np.full(len(n_pos), float(cf_item_norm))
            for power in set(powers.tolist()) - {0.0}:
                raw["cf"][powers == power] *= self.als_.item_norm_weights(power)[None, :]
        if "cooccurrence" in components and self.cooccurrence_ is not None:
            raw["cooccurrence"] = self.cooccurrence_.score_rows(user_items)
        if "text" in components:
            # the row's profile against every item: ranks like the sum of the item's cosines with the user's
            # items (ItemKNN-CBF), with the same specificity weights as the request path
            raw["text"] = self.text_.score_rows(user_items)
        if "trend" in components and trending is not None:
            shape = (user_items.shape[0], self.n_items)
            raw["trend"] = np.broadcast_to(np.asarray(trending, dtype=np.float32), shape)
        return raw

    def blend_scores(self, user_items: sp.spmatrix, raw: Mapping[str, np.ndarray]) -> np.ndarray:
        """The second step of :meth:`score_matrix`: each component in ``raw`` (from :meth:`component_scores`)
        scaled per row as :meth:`recommend` scales it over its candidates, the row's own items excluded,
        blended with the configured weights for the row's history length, and multiplied by that section's
        popularity discount."""
        self._check_fitted()
        user_items = self._check_rows(user_items)
        n_users = user_items.shape[0]
        n_pos = np.diff(user_items.indptr)
        # per-row weights: each user is blended with the weights for their history length (as blend_for)
        blends = {n: self.blend_for(int(n)) for n in np.unique(n_pos)}
        w = {c: np.array([blends[n][c] for n in n_pos], dtype=np.float32)[:, None] for c in raw}
        total = sum(w.values()) if w else np.zeros((n_users, 1), dtype=np.float32)
        fallback = np.asarray(total <= 0).ravel()
        if fallback.any():  # only zero-weight components for these rows: rank by those, equally weighted
            for c in w:
                w[c][fallback] = 1.0
            total = sum(w.values())
        score = np.zeros((n_users, self.n_items), dtype=np.float32)
        rows, cols = user_items.nonzero()
        for c in raw:
            if not np.any(w[c]):
                continue
            part = np.nan_to_num(np.array(raw[c], dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
            part[rows, cols] = 0.0
            np.maximum(part, 0.0, out=part)
            top = part.max(axis=1, keepdims=True)
            np.divide(part, top, out=part, where=top > 0)
            score += (w[c] / total) * part
        powers = self._row_powers(n_pos, self.popularity_discount_for)
        everything = np.arange(self.n_items)
        for power in set(powers.tolist()) - {0.0}:
            score[powers == power] *= self._popularity_weights(everything, power)[None, :]
        return score

    # ------------------------------------------------------------------ reasons
    def _title(self, idx: int, key: str, extra_titles: Mapping[str, str], *, default: str | None = None) -> str:
        """Title of a catalog index or a paper added later; ``default`` (the key when None) if neither."""
        if idx >= 0:
            return str(self.item_titles_[idx])
        return extra_titles.get(key, key if default is None else default)

    def _explain(
        self,
        recs: list[Recommendation],
        idx: list[int],
        vectors: sp.csr_matrix,
        state: _UserState,
        readers: Mapping[str, int],
        extra_titles: Mapping[str, str],
        window_label: str,
        weights: Mapping[str, float],
        min_readers: int,
    ) -> None:
        rcfg = self.config_["reasons"]
        if not state.personalised:
            for rec in recs:
                count = int(readers.get(rec.key, 0))
                if count > 0 or rec.components["trend"] > 0:
                    rec.reasons.append(f"{_trending_reason(window_label, count, min_readers)} — {COLD_START_HINT}")
                else:
                    rec.reasons.append(f"New paper — {COLD_START_HINT}")
            return

        # The anchors of "similar to" reasons: every paper in the user's positive history, saved ones named
        # plainly and ones only opened said to be opened, so each reason points at the paper it comes from.
        saved_mask = np.isin(state.pos_idx, state.saved_idx)
        extra_saved = state.extra_pos_saved if state.extra_pos_saved is not None else np.zeros(0, bool)
        anchor_vecs, anchor_titles, anchor_saved, anchor_keys = [], [], [], []
        if len(state.pos_idx):
            anchor_vecs.append(self.text_.vectors(state.pos_idx))
            anchor_titles += [str(t) for t in self.item_titles_[state.pos_idx]]
            anchor_saved += saved_mask.tolist()
            anchor_keys += [str(k) for k in self.item_ids_.keys[state.pos_idx]]
        if state.extra_pos_vectors is not None and state.extra_pos_vectors.shape[0]:
            anchor_vecs.append(state.extra_pos_vectors)
            anchor_titles += list(state.extra_pos_titles)
            anchor_saved += [bool(x) for x in extra_saved]
            anchor_keys += list(state.extra_pos_keys)
        text_best = text_sim = None
        cite_best = cite_verb = None
        if anchor_vecs:
            anchors = sp.vstack(anchor_vecs).tocsr()
            sims = np.asarray((vectors @ anchors.T).todense())
            # A saved paper wins over an opened one of nearly the same similarity.
            sims = sims + 1e-3 * np.asarray(anchor_saved, dtype=np.float64)[None, :]
            text_best, text_sim = sims.argmax(axis=1), sims.max(axis=1)
            cite_best, cite_verb = self._citation_links(
                [r.key for r in recs], vectors, anchor_keys, anchors, np.asarray(anchor_saved, dtype=bool)
            )

        co_best = co_count = None
        saved_known = np.unique(state.saved_idx[state.saved_idx >= 0])
        cand = np.asarray(idx, dtype=np.int64)
        known_cand = np.flatnonzero(cand >= 0)
        if len(saved_known) and len(known_cand) and self.saves_.nnz:
            counts = (self._saves_csc[:, saved_known].T @ self._saves_csc[:, cand[known_cand]]).toarray()
            co_best = np.full(len(cand), -1, dtype=np.int64)
            co_count = np.zeros(len(cand), dtype=np.int64)
            co_best[known_cand] = saved_known[counts.argmax(axis=0)]
            co_count[known_cand] = counts.max(axis=0).astype(np.int64)

        # the history paper whose readers most often also have the candidate (co-occurrence neighbours count
        # opens too, so this names papers read together where no co-saver count does)
        read_best = None
        pos_known = np.unique(state.pos_idx)
        # only links that at least min_readers distinct readers stand behind (none: a version without counts)
        support = None
        if self.cooccurrence_ is not None and len(pos_known) and len(known_cand):
            support = self.cooccurrence_.pair_support(pos_known, cand[known_cand])
        if support is not None:
            links = self.cooccurrence_.similarity_[pos_known][:, cand[known_cand]].toarray()
            links[support < min_readers] = 0.0
            linked = links.max(axis=0) > 0
            read_best = np.full(len(cand), -1, dtype=np.int64)
            read_best[known_cand[linked]] = pos_known[links.argmax(axis=0)[linked]]

        for j, rec in enumerate(recs):
            scored: list[tuple[float, str]] = []
            comp = rec.components
            text_weight = weights.get("text", 0.0) * comp["text"]
            if cite_best is not None and cite_best[j] >= 0:
                best = int(cite_best[j])
                suffix = "" if anchor_saved[best] else ", which you opened"
                # a citation is the more concrete way of saying "similar to" the same paper: just above it
                scored.append((text_weight + 1e-6, f"{cite_verb[j]} “{_shorten(anchor_titles[best])}”{suffix}"))
            # Below half the "similar" threshold the overlap is a few common words: no text reason then.
            if (
                text_best is not None
                and text_sim[j] >= 0.5 * float(rcfg["min_text_similarity"]) + 1e-3
                and not (cite_best is not None and cite_best[j] == text_best[j])
            ):
                best = int(text_best[j])
                title = _shorten(anchor_titles[best])
                suffix = "" if anchor_saved[best] else ", which you opened"
                verb = "Similar to" if text_sim[j] >= float(rcfg["min_text_similarity"]) else "Shares topics with"
                scored.append((text_weight, f"{verb} “{title}”{suffix}"))
            if co_count is not None and co_count[j] >= self._co_saver_threshold(min_readers):
                c = int(co_count[j])
                title = _shorten(str(self.item_titles_[co_best[j]]))
                who = f"{c} readers who" if c != 1 else "A reader who"
                weight = weights.get("cf", 0.0) * comp["cf"] + weights.get("cooccurrence", 0.0) * comp["cooccurrence"]
                scored.append((weight + 1e-9, f"{who} saved “{title}” also saved this"))
            elif read_best is not None and read_best[j] >= 0 and comp["cooccurrence"] > 0:
                title = _shorten(str(self.item_titles_[read_best[j]]))
                weight = weights.get("cooccurrence", 0.0) * comp["cooccurrence"]
                scored.append((weight + 1e-9, f"Readers of “{title}” also read this"))
            count = int(readers.get(rec.key, 0))
            if count > 0:
                trend_weight = weights.get("trend", 0.0) * comp["trend"]
                scored.append((trend_weight, _trending_reason(window_label, count, min_readers)))
            if not scored and comp["cf"] > 0:
                scored.append((comp["cf"], "Popular with readers whose libraries resemble yours"))
            if not scored:
                scored.append((0.0, "Related to papers in your reading history"))
            scored.sort(key=lambda t: -t[0])
            rec.reasons.extend(r for _, r in scored)
            if idx[j] < 0 and rec.key in extra_titles:
                rec.reasons.append("Added since the last model update")

    def _citation_links(
        self,
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
        cand_cols = np.array([self.text_.link_column(k) for k in keys], dtype=np.int64)
        anchor_cols = np.array([self.text_.link_column(k) for k in anchor_keys], dtype=np.int64)
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

    # ------------------------------------------------------------------ similar papers
    def similar(
        self,
        key: str,
        *,
        n: int = 10,
        doc: PaperDoc | None = None,
        exclude: Collection[str] = (),
        min_readers: int | None = None,
    ) -> list[Recommendation]:
        """Papers similar to ``key``: text cosine blended with ALS item similarity (``similar_blend``).

        A paper unknown to the model needs ``doc`` (its text); it then gets text similarity only. Reasons never
        state a count of fewer than ``min_readers`` readers (see :meth:`reader_threshold`).
        """
        self._check_fitted()
        if int(n) < 1:
            raise ValueError(f"n must be >= 1, got {n!r}")
        co_savers_needed = self._co_saver_threshold(self.reader_threshold(min_readers))
        item = self.item_ids_.get(key)
        if item < 0 and doc is None:
            raise ValueError(f"unknown paper key {key!r}: pass doc= to find papers similar to a new paper")
        vec = self.text_.vectors(np.array([item])) if item >= 0 else self._doc_cache.vectors([doc])
        sizes = self.config_["candidates"]
        skip = self.item_ids_.lookup(sorted({str(k) for k in exclude} | {key}))
        skip = skip[skip >= 0]
        cand = set(self.text_.top_n(vec, int(sizes["text"]), exclude=skip)[0].tolist())
        use_cf = self.als_ is not None and item >= 0
        if use_cf:
            cand |= set(top_n_indices(self.als_.similar_items(item), int(sizes["als"]), skip)[0].tolist())
        if not cand:
            return []
        cand_arr = np.asarray(sorted(cand), dtype=np.int64)
        cvecs = self.text_.vectors(cand_arr)
        text_raw = np.asarray((cvecs @ vec.T).todense()).ravel()
        norm = {c: np.zeros(len(cand_arr)) for c in COMPONENTS}
        norm["text"] = _scale(text_raw)
        weights = {"text": float(self.config_["similar_blend"]["text"])}
        if use_cf:
            norm["cf"] = _scale(self.als_.similar_items(item, cand_arr))
            weights["cf"] = float(self.config_["similar_blend"]["cf"])
        total = sum(weights.values()) or 1.0
        score = sum(w * norm[c] for c, w in weights.items()) / total
        # the query paper itself under another site's key is not "similar", it is the same paper
        same = _title_key(self.item_titles_[item] if item >= 0 else doc.title)
        keep = self._distinct_titles(
            self.item_ids_.keys[cand_arr], cand_arr, {}, score, {same: frozenset({key})}, int(n)
        )
        order = np.argsort(-score, kind="stable")
        order = order[keep[order]]

        co = None
        if item >= 0:
            co = (self._saves_csc[:, [item]].T @ self._saves_csc[:, cand_arr[order]]).toarray().ravel()
        out = []
        cite, cite_verb = self._citation_links(
            [str(k) for k in self.item_ids_.keys[cand_arr[order]]],
            cvecs[order],
            [key if item >= 0 else doc.key],
            vec,
            np.ones(1, dtype=bool),
        )
        for pos, j in enumerate(order):
            reasons = []
            if cite[pos] >= 0:
                reasons.append(f"{cite_verb[pos]} this paper")
            terms = self._shared_terms(vec, cvecs[j])
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
            out.append(
                Recommendation(
                    key=str(self.item_ids_.keys[cand_arr[j]]),
                    score=float(score[j]),
                    components={c: float(norm[c][j]) for c in COMPONENTS},
                    reasons=reasons or ["Related topic"],
                )
            )
        return out

    def _shared_terms(self, a: sp.csr_matrix, b: sp.csr_matrix, k: int = 3) -> list[str]:
        prod = a.multiply(b).tocsr()
        if prod.nnz == 0:
            return []
        if self._terms is None:
            self._terms = self.text_.vectorizer_.get_feature_names_out()
        top = prod.indices[np.argsort(-prod.data, kind="stable")]
        # Prefer terms that are not just a piece of an already chosen bigram.
        chosen: list[str] = []
        for term in self._terms[top]:
            t = display_term(str(term))
            if t is None or any(t in c.split() or c in t.split() or t == c for c in chosen):
                continue
            chosen.append(t)
            if len(chosen) == k:
                break
        return chosen
