"""Collaborative filtering: implicit-feedback ALS (``implicit``) with closed-form fold-in for any user row."""

from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from recommender.models.base import Estimator

log = logging.getLogger(__name__)


class ALSRecommender(Estimator):
    """Implicit-feedback matrix factorisation (Hu, Koren & Volinsky) fitted with ``implicit``.

    Users are never looked up by id at request time: a user's factor is always solved from their current row
    (:meth:`fold_in`), exactly as ALS would in its next user step, so users who signed up after the last
    retrain and fresh saves of existing users count immediately. Item indices
    outside ``0..n_items_-1`` (papers added after training) are ignored for CF.
    """

    section = "als"
    fitted_attribute = "item_factors_"
    factors: int
    regularization: float
    alpha: float
    iterations: int
    random_state: int | None
    blas_threads: int
    feature_weight: float

    # ---------------------------------------------------------------- fitting
    def fit(
        self,
        user_items: sp.spmatrix,
        *,
        item_features: sp.spmatrix | None = None,
        show_progress: bool = False,
        warm_start: ALSRecommender | None = None,
        iterations: int | None = None,
        keep_state: bool = False,
    ) -> ALSRecommender:
        """Factorise ``user_items`` (CSR, users x items, confidences > 0).

        With ``feature_weight > 0`` and ``item_features`` (items x features, e.g. the TF-IDF item vectors),
        every feature also enters the factorisation as a pseudo-user whose row holds
        ``feature_weight * item_features[:, f]`` (collective matrix factorisation): items that share text get
        nearby factors even when few users connect them. Only item factors are kept; real users are always
        folded in from their rows, so serving is unchanged.

        ``warm_start``: a model fitted with ``keep_state=True`` on a matrix of the same shape (the same users and
        item features, e.g. all but a holdout of the entries); its factors are the starting point and
        ``iterations`` (default: the model's) more are run. ``keep_state`` keeps every solver row (real users
        and feature pseudo-users) for such a continuation.
        """
        self._check_params()
        user_items = _check_user_items(user_items)
        if user_items.nnz == 0:
            raise ValueError("nothing to train on: the user x item matrix has no positive entries")
        n_real_users = user_items.shape[0]
        if item_features is not None and float(self.feature_weight) > 0:
            user_items = sp.vstack([user_items, self._feature_pseudo_users(item_features, user_items.shape[1])]).tocsr()
        # implicit's own OpenMP threads parallelise over users; a multi-threaded BLAS underneath each of
        # them oversubscribes the CPU (implicit warns about it), so BLAS is pinned for the fit only.
        with threadpool_limits(limits=self.blas_threads, user_api="blas"):
            from implicit.cpu.als import AlternatingLeastSquares

            model = AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                alpha=self.alpha,
                iterations=int(self.iterations if iterations is None else iterations),
                random_state=self.random_state,
                dtype=np.float32,
            )
            if warm_start is not None:
                state = getattr(warm_start, "_solver_factors", None)
                if state is None or (state[0].shape[0], state[1].shape[0]) != user_items.shape:
                    raise ValueError("warm_start must be fitted with keep_state=True on a matrix of the same shape")
                # implicit continues from factors that are already set
                model.user_factors, model.item_factors = state[0].copy(), state[1].copy()
            model.fit(user_items, show_progress=show_progress)
            self._solver_factors = (model.user_factors, model.item_factors) if keep_state else None
            self.user_factors_ = np.ascontiguousarray(model.user_factors[:n_real_users], dtype=np.float32)
            self.item_factors_ = np.ascontiguousarray(model.item_factors, dtype=np.float32)
            self.n_items_ = self.item_factors_.shape[0]
            # Measured: right after implicit's OpenMP fit, a multi-threaded BLAS Y^T Y was ~25x slower.
            self._prepare()
        log.info("fitted ALS: %d users x %d items, %d factors", *user_items.shape, self.factors)
        return self

    def _feature_pseudo_users(self, item_features: sp.spmatrix, n_items: int) -> sp.csr_matrix:
        """One row per text feature shared by 2+ items: ``feature_weight * item_features[:, f]``, negatives cut."""
        feats = sp.csr_matrix(item_features, dtype=np.float32)
        if feats.shape[0] != n_items:
            raise ValueError(f"item_features has {feats.shape[0]} rows, the user x item matrix {n_items} items")
        # a feature seen in one item only links nothing: leave it out (a large share of a vocabulary)
        feats = sp.csc_matrix(feats)
        feats = feats[:, np.flatnonzero(np.diff(feats.indptr) >= 2)]
        feats = sp.csr_matrix(feats.T * float(self.feature_weight), dtype=np.float32)
        feats.data = np.maximum(feats.data, 0.0)
        feats.eliminate_zeros()
        return feats

    @classmethod
    def from_factors(cls, item_factors: np.ndarray, **params: object) -> ALSRecommender:
        """Rebuild a fitted model from stored item factors (users are always folded in)."""
        model = cls(**params)  # type: ignore[arg-type]
        item_factors = np.ascontiguousarray(item_factors, dtype=np.float32)
        if item_factors.ndim != 2:
            raise ValueError(f"item_factors must be 2-D, got shape {item_factors.shape}")
        model.item_factors_ = item_factors
        model.n_items_ = item_factors.shape[0]
        model._prepare()
        return model

    def _prepare(self) -> None:
        Y = self.item_factors_.astype(np.float64)
        self._YtY = Y.T @ Y
        norms = np.linalg.norm(self.item_factors_, axis=1)
        self._item_norms = np.where(norms > 0, norms, 1.0).astype(np.float32)
        self._inverse_item_norms = (1.0 / self._item_norms).astype(np.float32)
        self._inverse_item_norms.setflags(write=False)  # item_norm_weights hands it out without a copy

    def _check_params(self) -> None:
        if int(self.factors) < 1:
            raise ValueError(f"factors must be >= 1, got {self.factors!r}")
        if int(self.iterations) < 1:
            raise ValueError(f"iterations must be >= 1, got {self.iterations!r}")
        if float(self.feature_weight) < 0:
            raise ValueError(f"feature_weight must be >= 0, got {self.feature_weight!r}")
        if float(self.regularization) < 0 or float(self.alpha) <= 0:
            raise ValueError("regularization must be >= 0 and alpha > 0")

    # ---------------------------------------------------------------- users
    def fold_in(self, items: np.ndarray, confidences: np.ndarray) -> np.ndarray | None:
        """Solve one user's factor from their positive items and confidences (the ALS user step).

        ``x = (YtY + Y_u^T (C_u - I) Y_u + reg I)^-1 Y_u^T C_u p_u`` with ``C_u = alpha * confidence``.
        Items unknown to the model are dropped; returns ``None`` when no known item remains.
        """
        self._check_fitted()
        items = np.asarray(items, dtype=np.int64)
        conf = np.asarray(confidences, dtype=np.float64)
        if items.shape != conf.shape:
            raise ValueError(f"items and confidences must have the same shape, got {items.shape}, {conf.shape}")
        known = (items >= 0) & (items < self.n_items_) & (conf > 0)
        if not np.any(known):
            return None
        items, conf = items[known], conf[known] * float(self.alpha)
        Yu = self.item_factors_[items].astype(np.float64)
        A = self._YtY + (Yu.T * (conf - 1.0)) @ Yu + float(self.regularization) * np.eye(Yu.shape[1])
        b = Yu.T @ conf
        return np.linalg.solve(A, b).astype(np.float32)

    def fold_in_rows(self, user_items: sp.spmatrix) -> np.ndarray:
        """Factors for every row of a CSR users x items matrix (zeros for rows with no known item)."""
        self._check_fitted()
        user_items = _check_user_items(user_items)
        out = np.zeros((user_items.shape[0], self.item_factors_.shape[1]), dtype=np.float32)
        for u in range(user_items.shape[0]):
            lo, hi = user_items.indptr[u], user_items.indptr[u + 1]
            x = self.fold_in(user_items.indices[lo:hi], user_items.data[lo:hi])
            if x is not None:
                out[u] = x
        return out

    # ---------------------------------------------------------------- scoring
    def item_norm_weights(self, item_norm_power: float, items: np.ndarray | None = None) -> np.ndarray:
        """``1 / ||item factor|| ** item_norm_power`` for ``items`` (all items if None; 1 for an all-zero factor).

        Power 0 keeps the ALS dot product; power 1 ranks by the cosine between the user's and the item's
        factor. Widely saved papers get long factors, so the dot product favours them whatever the user's
        topic; dividing by the norm ranks by direction, i.e. by fit to the user's topics.
        """
        self._check_fitted()
        p = float(item_norm_power)
        if not p >= 0:
            raise ValueError(f"item_norm_power must be >= 0, got {item_norm_power!r}")
        inverse = self._inverse_item_norms if items is None else self._inverse_item_norms[items]
        if p == 0:
            return np.ones(len(inverse), dtype=np.float32)
        return inverse if p == 1 else (inverse**p).astype(np.float32)

    def score(self, user_factor: np.ndarray, candidates: np.ndarray, *, item_norm_power: float = 0.0) -> np.ndarray:
        """Scores of ``candidates`` (item indices) for one user; NaN for items unknown to the model.

        ``item_norm_power``: see :meth:`item_norm_weights`.
        """
        self._check_fitted()
        candidates = np.asarray(candidates, dtype=np.int64)
        out = np.full(len(candidates), np.nan, dtype=np.float32)
        ok = (candidates >= 0) & (candidates < self.n_items_)
        known = candidates[ok]
        out[ok] = (self.item_factors_[known] @ np.asarray(user_factor, dtype=np.float32)) * self.item_norm_weights(
            item_norm_power, known
        )
        return out

    def top_n(
        self,
        user_factor: np.ndarray,
        n: int,
        *,
        exclude: np.ndarray | None = None,
        item_norm_power: float = 0.0,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``n`` item indices and scores over the whole model for one user factor (scored as :meth:`score`)."""
        self._check_fitted()
        scores = self.item_factors_ @ np.asarray(user_factor, dtype=np.float32)
        return top_n_indices(scores * self.item_norm_weights(item_norm_power), n, exclude)

    def similar_items(self, item: int, candidates: np.ndarray | None = None) -> np.ndarray:
        """Cosine similarity in factor space between ``item`` and ``candidates`` (all items if None)."""
        self._check_fitted()
        if not 0 <= item < self.n_items_:
            raise ValueError(f"item index {item} is outside the model (0..{self.n_items_ - 1})")
        v = self.item_factors_[item] / self._item_norms[item]
        if candidates is None:
            return (self.item_factors_ @ v) / self._item_norms
        candidates = np.asarray(candidates, dtype=np.int64)
        out = np.full(len(candidates), np.nan, dtype=np.float32)
        ok = (candidates >= 0) & (candidates < self.n_items_)
        out[ok] = (self.item_factors_[candidates[ok]] @ v) / self._item_norms[candidates[ok]]
        return out


def _check_user_items(user_items: sp.spmatrix) -> sp.csr_matrix:
    if not sp.issparse(user_items):
        raise ValueError(f"user_items must be a scipy sparse matrix (users x items), got {type(user_items)}")
    user_items = sp.csr_matrix(user_items, dtype=np.float32)
    if user_items.nnz and (not np.all(np.isfinite(user_items.data)) or user_items.data.min() < 0):
        raise ValueError("user_items confidences must be finite and >= 0 (dismissals belong elsewhere)")
    return user_items


def top_n_indices(scores: np.ndarray, n: int, exclude: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the ``n`` largest finite scores (descending), skipping ``exclude``."""
    scores = np.asarray(scores, dtype=np.float32).copy()
    scores[~np.isfinite(scores)] = -np.inf
    if exclude is not None and len(exclude):
        exclude = np.asarray(exclude, dtype=np.int64)
        exclude = exclude[(exclude >= 0) & (exclude < len(scores))]
        scores[exclude] = -np.inf
    n = min(int(n), int(np.count_nonzero(np.isfinite(scores))))
    if n <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    idx = np.argpartition(-scores, n - 1)[:n]
    idx = idx[np.argsort(-scores[idx], kind="stable")]
    return idx.astype(np.int64), scores[idx]


def positions_in_sorted(sorted_items: np.ndarray, items: np.ndarray | None) -> np.ndarray | None:
    """Positions in ``sorted_items`` (ascending, distinct) of those ``items`` it holds (None for None): an
    exclusion list mapped onto a request's candidates without a pass over every candidate per excluded item."""
    if items is None:
        return None
    items = np.asarray(items, dtype=np.int64)
    at = np.searchsorted(sorted_items, items)
    inside = at < len(sorted_items)
    at = at[inside]
    return np.unique(at[sorted_items[at] == items[inside]])
