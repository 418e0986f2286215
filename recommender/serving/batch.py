"""Batch scoring for offline evaluation: every catalog item for many users at once, ranked as a request
ranks its candidates (before one-per-title, MMR and reasons), through the same :func:`blend`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from recommender.serving.blend import COMPONENTS, blend

if TYPE_CHECKING:
    from recommender.serving.hybrid import HybridRecommender


def _row_powers(n_pos: np.ndarray, power_for: Callable[[int], float]) -> np.ndarray:
    """One power per row, looked up once per distinct history length."""
    by_length = {n: power_for(int(n)) for n in np.unique(n_pos)}
    return np.array([by_length[n] for n in n_pos], dtype=np.float64)


class BatchScoring:
    """The batch half of :class:`~recommender.serving.hybrid.HybridRecommender` (and the popularity discount
    both halves apply)."""

    def discount_popularity(self: HybridRecommender, score: np.ndarray, idx: np.ndarray, powers: np.ndarray) -> None:
        """Multiply each row of ``score`` (columns: catalog indices ``idx``) by ``(1 + readers) ** -power``
        with the row's power from ``powers``, in place. The reader counts live with the co-occurrence part."""
        if self.cooccurrence_ is None:
            return
        for power in set(powers.tolist()) - {0.0}:
            score[powers == power] *= self.cooccurrence_.popularity_weights(idx, power)[None, :]

    def score_matrix(
        self: HybridRecommender,
        user_items: sp.spmatrix,
        *,
        component: str = "blend",
        trending: np.ndarray | None = None,
    ) -> np.ndarray:
        """Scores of every catalog item for a batch of users given as rows of a users x items confidence
        matrix (dense ``n_users x n_items`` float32). The users' own items are excluded from the scaling.

        ``component`` is one of :data:`COMPONENTS` for that component's raw scores, or ``"blend"`` for the
        hybrid score: :meth:`component_scores` then :meth:`blend_scores`. ``trending`` is one trend score per
        catalog item (offline: training popularity).
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

    def _check_rows(self: HybridRecommender, user_items: sp.spmatrix) -> sp.csr_matrix:
        user_items = sp.csr_matrix(user_items, dtype=np.float32)
        if user_items.shape[1] != self.n_items:
            raise ValueError(f"user_items has {user_items.shape[1]} columns, the model {self.n_items} items")
        return user_items

    def component_scores(
        self: HybridRecommender,
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
                powers = _row_powers(n_pos, self.cf_item_norm_for)
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

    def blend_scores(self: HybridRecommender, user_items: sp.spmatrix, raw: Mapping[str, np.ndarray]) -> np.ndarray:
        """The second step of :meth:`score_matrix`: the components in ``raw`` (from :meth:`component_scores`)
        blended per row by :func:`~recommender.serving.blend.blend`, with the weights for the row's history
        length and the row's own items left out of the scaling, then that section's popularity discount."""
        self._check_fitted()
        user_items = self._check_rows(user_items)
        n_pos = np.diff(user_items.indptr)
        # per-row weights: each user is blended with the weights for their history length (as blend_for)
        blends = {n: self.blend_for(int(n)) for n in np.unique(n_pos)}
        weights = {c: np.array([blends[n][c] for n in n_pos], dtype=np.float32)[:, None] for c in raw}
        shape = (user_items.shape[0], self.n_items)
        score, _ = blend(raw, weights, shape, exclude=user_items.nonzero(), dtype=np.float32)
        everything = np.arange(self.n_items)
        self.discount_popularity(score, everything, _row_powers(n_pos, self.popularity_discount_for))
        return score
