"""Blending: each component scaled per user over the items ranked, then weighted into one score.

One implementation for both paths: a request scales over its candidates (one row), the offline batch over the
whole catalog (one row per user, the user's own items left out). A component that is unavailable (no CF
factor, no text profile, no trending input) is absent from ``raw`` and the remaining weights are
renormalised; when only zero-weight components are available, they are ranked equally weighted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

COMPONENTS = ("cf", "cooccurrence", "text", "trend")


def scale(
    values: np.ndarray, *, exclude: tuple[np.ndarray, np.ndarray] | None = None, dtype: type = np.float64
) -> np.ndarray:
    """Per-row normalisation: negatives and missing values -> 0 (and the ``exclude`` (rows, cols) entries),
    then divided by the row's maximum.

    Unlike min-max, 0 keeps meaning "no evidence" and a lone or tied candidate is not pushed to 0.
    """
    out = np.nan_to_num(np.array(values, dtype=dtype), nan=0.0, posinf=0.0, neginf=0.0)
    if exclude is not None:
        out[exclude] = 0.0
    np.maximum(out, 0.0, out=out)
    if out.shape[-1] == 0:
        return out
    top = out.max(axis=-1, keepdims=True)
    np.divide(out, top, out=out, where=top > 0)
    return out


def with_evidence(raw: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The components of ``raw`` that score some candidate above 0. Over a given set of papers newer than the
    model (no reader yet: cf and co-occurrence all 0) a silent component's weight would only shrink every
    score, and MMR would then trade relevance for diversity far more than configured."""
    return {c: v for c, v in raw.items() if np.any(np.asarray(v) > 0)}


def blend(
    raw: Mapping[str, np.ndarray],
    weights: Mapping[str, np.ndarray],
    shape: tuple[int, int],
    *,
    exclude: tuple[np.ndarray, np.ndarray] | None = None,
    dtype: type = np.float32,
    scaled: dict[str, np.ndarray] | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The blended score of ``raw`` (component -> rows x items raw scores, available components only).

    ``shape`` is (rows, items); ``weights`` holds one column (rows x 1) of weights per component. Each component
    is scaled per row (:func:`scale`, ``exclude`` entries set to 0) and added with its share of the row's total
    weight. Returns the score and the weights used (after the fallback). ``scaled``, when given, receives every
    component of ``raw`` scaled, zero-weight ones included (the request path reports them).
    """
    w = {c: np.array(weights[c]) for c in raw}
    total = sum(w.values()) if w else np.zeros((shape[0], 1), dtype=dtype)
    fallback = np.asarray(total <= 0).ravel()
    if fallback.any():  # only zero-weight components for these rows: rank by those, equally weighted
        for c in w:
            w[c][fallback] = 1.0
        total = sum(w.values())
    parts = {c: scale(raw[c], exclude=exclude, dtype=dtype) for c in raw if scaled is not None or np.any(w[c])}
    if scaled is not None:
        scaled.update(parts)
    return weighted_sum(parts, w, shape, dtype=dtype), w


def weighted_sum(
    parts: Mapping[str, np.ndarray], weights: Mapping[str, Any], shape: tuple[int, int], *, dtype: type = np.float32
) -> np.ndarray:
    """Each scaled component of ``parts`` times its weight's share of the total over ``parts`` (weights are
    numbers or row columns). :func:`blend` and the blend choice's grid (which scales once for many weights)
    both add up through here."""
    total = sum(weights[c] for c in parts)
    score = np.zeros(shape, dtype=dtype)
    for c, part in parts.items():
        if np.any(weights[c]):
            score += (weights[c] / total) * part
    return score


class BlendSettings:
    """The fitted model's blend settings by history length (``config_``: the config the model was fitted with,
    the chosen blends included)."""

    @property
    def blend_weights(self) -> dict[str, float]:
        """The blend for short histories (``blend``); see :meth:`blend_for`."""
        self._check_fitted()
        return {k: float(v) for k, v in self.config_.blend.to_dict(with_min_items=False).items()}

    def blend_for(self, n_positive: int) -> dict[str, float]:
        """Blend weights for a user with ``n_positive`` positive papers in their history."""
        self._check_fitted()
        return {c: float(v) for c, v in self.config_.blend_for(n_positive).weights.to_dict().items()}

    def cf_item_norm_for(self, n_positive: int) -> float:
        """The ``cf_item_norm`` power for a user with ``n_positive`` positive papers."""
        self._check_fitted()
        return float(self.config_.blend_for(n_positive).options.cf_item_norm)

    def popularity_discount_for(self, n_positive: int) -> float:
        """The ``popularity_discount`` power for a user with ``n_positive`` positive papers: the blended score
        is multiplied by ``(1 + readers) ** -power``."""
        self._check_fitted()
        return float(self.config_.blend_for(n_positive).options.popularity_discount)
