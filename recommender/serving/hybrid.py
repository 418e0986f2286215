"""Hybrid recommender: ALS + item co-occurrence + TF-IDF text + trending, blended per request, diversified,
explained. This module holds the fitted model and orchestrates a request; each step has its own module:

- :mod:`~recommender.serving.user_state`: what the user's history says (positives, saves, exclusions)
- :mod:`~recommender.serving.candidates`: the bounded candidate set
- :mod:`~recommender.serving.blend`: scaling and blending (also for :mod:`~recommender.serving.batch`)
- :mod:`~recommender.serving.diversity`: one entry per title, maximal marginal relevance
- :mod:`~recommender.serving.reasons`: why each paper is there
- :mod:`~recommender.serving.similar`: papers similar to one paper

Users with at least ``blend_long_history.min_items`` positive papers get the ``blend_long_history`` weights
instead of ``blend``. See docs/recommender.md.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommender.coldstart import ColdStartScorer, NewPapers
from recommender.config import Config, parse_config
from recommender.config_checks import reader_count_threshold
from recommender.definitions import WINDOW_LABELS
from recommender.doc_cache import DocVectorCache
from recommender.interactions import IdMap, InteractionData
from recommender.models import ALSRecommender, ItemCooccurrence, TextModel
from recommender.serving import batch, candidate_index, cold_start, reasons, user_state
from recommender.serving.blend import COMPONENTS, BlendSettings, blend, with_evidence
from recommender.serving.candidates import candidate_keys, candidate_vectors, component_scores
from recommender.serving.diversity import distinct_titles, mmr, mmr_pool_size
from recommender.serving.new_paper_cache import NewPaperCache
from recommender.serving.similar import similar
from recommender.serving.types import HistoryEvent, PaperDoc, Recommendation, UserSignals
from recommender.serving.user_state import UserState
from recommender.timing import StageClock


class HybridRecommender(batch.BatchScoring, BlendSettings):
    """ALS + co-occurrence + text + trending hybrid. Build with :meth:`fit` (or
    :func:`recommender.offline.training.train`). ``config``: a :class:`~recommender.config.Config`, or JSON
    overrides merged over the packaged defaults."""

    def __init__(self, *, config: Config | Mapping[str, Any] | None = None) -> None:
        self.config = config

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        papers: Sequence[PaperDoc],
        data: InteractionData,
        *,
        text_model: TextModel | None = None,
        show_progress: bool = False,
        als_options: Mapping[str, Any] | None = None,
        chosen_blends: Mapping[str, Any] | None = None,
    ) -> HybridRecommender:
        """Fit on the catalog ``papers`` and ``data`` (built with ``item_keys`` = the paper keys, in order).

        ``text_model``, when given, must already be fitted on the same papers (it is reused as is).
        ``als_options``: more keywords of :meth:`ALSRecommender.fit`. ``fit_seconds_``: seconds per part. With
        ``blend_choice.enabled`` the blends are chosen on views carved from ``data`` (recommender/blend_choice.py);
        ``config_`` then holds the chosen ones and ``blend_choice_`` the record of the choice.
        ``chosen_blends``: the record of a choice the caller already made (its blends are in the config): kept as
        ``blend_choice_``, and no second choice is made.
        """
        cfg = parse_config(self.config)
        if len(papers) == 0:
            raise ValueError("nothing to train on: no papers")
        keys = [p.key for p in papers]
        if len(data.items) != len(keys) or data.items.keys.tolist() != keys:
            raise ValueError("data.items must be the paper keys in catalog order (build_matrix(item_keys=...))")
        clock = StageClock()
        if text_model is None:
            with clock.stage("text"):
                text_model = TextModel(**cfg.text.to_dict()).fit([p.text for p in papers])
        elif text_model.n_items_ != len(papers):
            raise ValueError(f"text_model covers {text_model.n_items_} items, catalog has {len(papers)}")
        choice = None if chosen_blends is None else dict(chosen_blends)
        if choice is None and cfg.blend_choice.enabled and data.matrix.nnz:
            from recommender.blend_choice import choose_blends  # it fits this class on its carved views

            with clock.stage("blend_choice"):
                cfg, choice = choose_blends(papers, data, text_model, cfg)
        als = cooc = None
        if data.matrix.nnz:
            options = {"item_features": text_model.item_vectors_, "show_progress": show_progress, **(als_options or {})}
            with clock.stage("als"):
                als = ALSRecommender(**cfg.als.to_dict()).fit(data.matrix, **options)
            with clock.stage("cooccurrence"):
                cooc = ItemCooccurrence(**cfg.cooccurrence.to_dict()).fit(data.matrix)
        titles = [p.title for p in papers]
        model = self._set_fitted(cfg, text_model, als, keys, titles, data.saved, cooc, data.users.keys)
        model.blend_choice_ = choice  # how the blends were chosen (None: as configured)
        with clock.stage("indexes"):
            candidate_index.prepare(model)
        with clock.stage("cold_start"):
            scorer = cold_start.fit_scorer(cfg.cold_start, papers, als.item_factors_ if als is not None else None)
        model.fit_seconds_ = clock.seconds
        return model.with_cold_start(scorer)

    @classmethod
    def from_parts(
        cls,
        *,
        config: Config | Mapping[str, Any],
        text: TextModel,
        als: ALSRecommender | None,
        item_keys: Sequence[str],
        item_titles: Sequence[str],
        saves: sp.spmatrix,
        cooccurrence: ItemCooccurrence | None = None,
        user_keys: Sequence[str] | None = None,
    ) -> HybridRecommender:
        """Assemble a fitted recommender from its parts (used by :mod:`recommender.store`).

        ``config`` is the whole config the parts were fitted with (a JSON object is read exactly as given, never
        merged over today's defaults). ``user_keys`` names the user of each row of ``saves``. Without it nobody's
        rows could be removed on request, so the saves are dropped: the model then gives no co-saver reasons."""
        cfg = config if isinstance(config, Config) else Config.from_dict(config)
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
        cfg: Config,
        text: TextModel,
        als: ALSRecommender | None,
        keys: Sequence[str],
        titles: Sequence[str],
        saves: sp.spmatrix,
        cooccurrence: ItemCooccurrence | None,
        user_keys: Sequence[object],
    ) -> HybridRecommender:
        self.config_ = cfg
        self.text_ = text
        self._doc_cache = DocVectorCache(text)
        self.als_ = als
        self.cooccurrence_ = cooccurrence
        self.item_ids_ = IdMap(keys)
        self.item_titles_ = np.asarray(list(titles), dtype=object)
        self.saves_ = sp.csr_matrix(saves, dtype=np.float32)
        self.saves_csc = self.saves_.tocsc()
        # the user of each row of saves_, as strings (erasure requests name users by their id)
        self.user_keys_ = np.asarray([str(k) for k in user_keys], dtype=object)
        self._terms: np.ndarray | None = None
        self.candidate_index_: candidate_index.AlsCandidateIndex | None = None  # set by fit or the store
        self.blend_choice_: dict[str, Any] | None = None
        return self.with_cold_start(None)

    def map_new_papers(self, docs: Sequence[PaperDoc]) -> NewPapers | None:
        """Map every one of ``docs`` (papers newer than the model) with the cold-start scorer now, so that
        requests find them mapped (a request maps only a few itself); their rows in order, None without a
        scorer."""
        if self._new_paper_cache is None:
            return None
        return self._new_paper_cache.papers(docs, every=True)[0]

    def with_cold_start(self, scorer: ColdStartScorer | None, *, shared_dir: Path | None = None) -> HybridRecommender:
        """Use ``scorer`` (fitted on this model's catalog and ALS factors; None: none) for papers added after
        training (:mod:`~recommender.serving.cold_start`); ``shared_dir``: where the processes serving this model
        share the new papers they map (:mod:`~recommender.serving.new_paper_files`). Returns this model."""
        if scorer is not None and (self.als_ is None or scorer.n_items_ != len(self.item_ids_)):
            raise ValueError(f"the cold-start scorer covers {scorer.n_items_} papers, the model {len(self.item_ids_)}")
        self.cold_start_ = scorer
        self._new_paper_cache = NewPaperCache(scorer) if scorer is not None else None
        if self._new_paper_cache is not None and shared_dir is not None:
            self._new_paper_cache.share(shared_dir)
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
        clone.saves_csc = clone.saves_.tocsc()
        clone.user_keys_ = self.user_keys_[~drop]
        return clone

    # ------------------------------------------------------------------ what the fitted model knows
    def _check_fitted(self) -> None:
        if not hasattr(self, "config_"):
            raise ValueError("this HybridRecommender is not fitted yet; call fit() or load one from a store")

    @property
    def n_items(self) -> int:
        self._check_fitted()
        return len(self.item_ids_)

    def __contains__(self, key: object) -> bool:
        return hasattr(self, "item_ids_") and key in self.item_ids_

    def reader_threshold(self, min_readers: int | None = None) -> int:
        """The k of k-anonymous reasons: ``min_readers`` when given, else the config's ``reasons.min_readers``.

        A reason that counts readers (co-savers, readers of a paper, trending readers) is only given when at
        least k distinct readers stand behind it."""
        self._check_fitted()
        if min_readers is None:
            return reader_count_threshold(self.config_.reasons.min_readers, "config key 'reasons.min_readers'")
        return reader_count_threshold(min_readers, "min_readers")

    def co_saver_threshold(self, k: int) -> int:
        """Co-savers needed for a co-saver reason: ``min_co_savers`` can only raise the privacy threshold."""
        return max(k, int(self.config_.reasons.min_co_savers))

    def title_of(self, key: str, extra_titles: Mapping[str, str], *, default: str | None = None) -> str:
        """Title of a catalog paper or of one added later; ``default`` (the key when None) if neither."""
        idx = self.item_ids_.get(key)
        if idx >= 0:
            return str(self.item_titles_[idx])
        return extra_titles.get(key, key if default is None else default)

    def doc_vectors(self, docs: Sequence[PaperDoc]) -> sp.csr_matrix:
        """Text vectors of papers the model does not know (cached per process)."""
        return self._doc_cache.vectors(docs)

    def feature_names(self) -> np.ndarray:
        if self._terms is None:
            self._terms = self.text_.vectorizer_.get_feature_names_out()
        return self._terms

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
        window_label: str = WINDOW_LABELS["7d"],
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
        state = user_state.state_from_history(self, history, docs, exclude, now)
        return self.rank(
            state,
            n=int(n),
            trending=dict(trending or {}),
            readers=dict(trending_readers or {}),
            extra_docs=docs,
            window_label=window_label,
            min_readers=k,
            only=None if only is None else {str(key) for key in only},
        )

    def user_state_for_row(self, items: np.ndarray, conf: np.ndarray, saved: np.ndarray) -> UserState:
        """The state of a user given as a row of the training matrix: catalog indices ``items`` with
        confidences ``conf``, ``saved`` among them (offline checks rank users this way)."""
        self._check_fitted()
        return user_state.state_from_row(self, items, conf, saved)

    def signals(self, state: UserState) -> UserSignals:
        """What each component knows of the user in ``state``."""
        pos = state.pos_idx
        return UserSignals(
            user_factor=self.als_.fold_in(pos, state.pos_conf) if self.als_ is not None and len(pos) else None,
            cooc_scores=self.cooccurrence_.history_scores(pos) if self.cooccurrence_ is not None and len(pos) else None,
            profile=user_state.text_profile(self, state),
        )

    def rank(
        self,
        state: UserState,
        *,
        n: int,
        trending: Mapping[str, float],
        readers: Mapping[str, int] | None = None,
        extra_docs: Mapping[str, PaperDoc] | None = None,
        window_label: str = WINDOW_LABELS["7d"],
        min_readers: int | None = None,
        only: Collection[str] | None = None,
        with_reasons: bool = True,
    ) -> list[Recommendation]:
        """The best ``n`` papers for ``state``: candidates, blend, one per title, MMR, then reasons."""
        self._check_fitted()
        extra_docs = dict(extra_docs or {})
        signals = self.signals(state)
        keys = candidate_keys(self, state, signals, trending, extra_docs, only)
        if not keys:
            return []
        keys_arr = np.asarray(keys, dtype=object)
        idx = self.item_ids_.lookup(keys_arr)
        vectors = candidate_vectors(self, keys_arr, idx, extra_docs)
        norm: dict[str, np.ndarray] = {}
        new = cold_start.score_new_papers(self, state, signals.user_factor, keys, idx, extra_docs)
        score, weights = self._blend_candidates(
            state, signals, keys, idx, vectors, trending, norm, only is not None, new
        )
        extra_titles = {k: doc.title for k, doc in extra_docs.items()}
        titles = [self.title_of(str(k), extra_titles, default="") for k in keys]
        pool = mmr_pool_size(n)
        valid = np.flatnonzero(distinct_titles(keys_arr, titles, score, state.seen_titles, pool))
        order = valid[mmr(score[valid], vectors[valid], n, float(self.config_.mmr.lambda_))].tolist()
        out = [
            Recommendation(
                key=str(keys[j]), score=float(score[j]), components={c: float(norm[c][j]) for c in COMPONENTS}
            )
            for j in order
        ]
        if with_reasons:
            k = self.reader_threshold(min_readers)
            ctx = reasons.ListContext(dict(readers or {}), extra_titles, window_label, weights, k)
            if new is not None:
                ctx.cold_anchors = cold_start.cold_anchors(self, state, new, keys, k)
            reasons.explain(self, out, [int(idx[j]) for j in order], vectors[order], state, ctx)
        return out

    def _blend_candidates(
        self,
        state: UserState,
        signals: UserSignals,
        keys: list[str],
        idx: np.ndarray,
        vectors: sp.csr_matrix,
        trending: Mapping[str, float],
        norm: dict[str, np.ndarray],
        given_set: bool = False,
        new: cold_start.NewPaperScores | None = None,
    ) -> tuple[np.ndarray, dict[str, float]]:
        """The blended score of each candidate (one row of :func:`~recommender.serving.blend.blend`); fills
        ``norm`` with every component scaled (0 for unavailable ones). Returns the score and the weights used.
        For a ``given_set`` (``only=``), components with no evidence leave the blend (:func:`with_evidence`).
        ``new``: cold-start scores of papers added after training, in place of their missing ``cf`` scores."""
        raw = component_scores(self, state, signals, keys, idx, vectors, trending, new)
        section = self.blend_for(state.n_positive)
        raw = with_evidence(raw) if given_set else raw
        weights = {c: np.array([[section[c]]], dtype=np.float64) for c in raw}
        rows = {c: np.asarray(v, dtype=np.float64)[None, :] for c, v in raw.items()}
        scaled: dict[str, np.ndarray] = {}
        score, used = blend(rows, weights, (1, len(keys)), dtype=np.float64, scaled=scaled)
        for c in COMPONENTS:
            norm[c] = scaled[c][0] if c in scaled else np.zeros(len(keys))
        self.discount_popularity(score, idx, np.array([self.popularity_discount_for(state.n_positive)]))
        return score[0], {c: float(v[0, 0]) for c, v in used.items()}

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
        co_savers_needed = self.co_saver_threshold(self.reader_threshold(min_readers))
        if self.item_ids_.get(key) < 0 and doc is None:
            raise ValueError(f"unknown paper key {key!r}: pass doc= to find papers similar to a new paper")
        return similar(self, key, int(n), doc, exclude, co_savers_needed)
