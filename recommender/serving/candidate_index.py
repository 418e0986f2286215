"""The ALS candidate index of a model (:mod:`recommender.models.ann`): built at training from
``candidates.ann_min_items`` papers on, written with the model version, opened memory-mapped.

A request ranks ALS candidates by ``u . y_i / ||y_i|| ** p`` = ``cos(u, y_i) * ||u|| * ||y_i|| ** (1 - p)``
with the power ``p`` (``cf_item_norm``) of the user's blend. The index holds the directions of the item
factors (the cosine), which alone would miss papers that rank by the length of their factor (widely saved
papers, for ``p`` < 1): plain inner-product HNSW found only about half of the exact top 200 on clustered
factors. So the pool rescored exactly is the ``SEARCH_FACTOR * n`` papers closest in direction plus the
``NORM_FACTOR * n`` papers with the longest factors; on the same factors that recovered 99% of the top 200.
Below the threshold, for ``p`` > 1, without an index, or without ``usearch``, candidates are found exactly.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from recommender.models import ALSRecommender, ann
from recommender.models.collaborative import positions_in_sorted, top_n_indices

if TYPE_CHECKING:
    from recommender.config import Config
    from recommender.serving.hybrid import HybridRecommender

log = logging.getLogger(__name__)

MANIFEST_KEY = "candidate_index"
FILE = "ann_als.usearch"
SEARCH_FACTOR = 2
NORM_FACTOR = 10


class AlsCandidateIndex:
    """The index over the item factors' directions and the papers ordered by the length of their factor."""

    def __init__(self, index: ann.VectorIndex, item_factors: np.ndarray) -> None:
        self.index_ = index
        self.n_items_ = index.n_items_
        norms = np.linalg.norm(np.asarray(item_factors, dtype=np.float32), axis=1)
        self.by_norm_ = np.argsort(-norms, kind="stable").astype(np.int64)  # longest first

    def candidates(
        self,
        als: ALSRecommender,
        user_factor: np.ndarray,
        n: int,
        exclude: np.ndarray,
        norm_power: float,
        *,
        expansion: int,
    ) -> np.ndarray | None:
        """About the ``n`` best papers of ``als`` (item indices, best first, scored exactly); None for ``p`` > 1.
        ``expansion``: the HNSW search width (``candidates.ann_expansion``)."""
        if float(norm_power) > 1.0:
            return None
        near = self.index_.search(user_factor, SEARCH_FACTOR * n, expansion=expansion, exclude=exclude)
        pool = np.union1d(near, self.by_norm_[: NORM_FACTOR * n])
        scores = als.score(user_factor, pool, item_norm_power=norm_power)
        best = top_n_indices(scores, n, positions_in_sorted(pool, exclude))[0]  # pool: ascending (union1d)
        return pool[best]

    def neighbours(self, als: ALSRecommender, item: int, n: int, exclude: np.ndarray, *, expansion: int) -> np.ndarray:
        """About the ``n`` papers closest in direction to paper ``item`` (its ALS cosine, what the index holds),
        best first, scored exactly; never ``item`` itself nor ``exclude``."""
        skip = np.union1d(np.asarray(exclude, dtype=np.int64), [int(item)])
        near = self.index_.search(als.item_factors_[int(item)], SEARCH_FACTOR * n, expansion=expansion, exclude=skip)
        order = np.argsort(-als.similar_items(int(item), near), kind="stable")[:n]
        return near[order]


def wanted(cfg: Config, n_items: int) -> bool:
    """Whether a catalog of ``n_items`` papers gets ANN candidates under ``cfg``."""
    return n_items >= int(cfg.candidates.ann_min_items) and ann.available()


def build(cfg: Config, item_factors: np.ndarray | None) -> AlsCandidateIndex | None:
    """The index over ``item_factors``; None when not :func:`wanted`."""
    if item_factors is None or not wanted(cfg, len(item_factors)):
        return None
    index = AlsCandidateIndex(ann.VectorIndex.build(item_factors), item_factors)
    log.info("built the ALS candidate index over %d papers", len(item_factors))
    return index


def prepare(model: HybridRecommender) -> None:
    """At training: the ALS candidate index and the text model's inverted index (:meth:`TextModel.top_n`), when
    the catalog reaches ``candidates.ann_min_items``."""
    cfg, als = model.config_, model.als_
    model.candidate_index_ = build(cfg, als.item_factors_ if als is not None else None)
    if model.n_items >= int(cfg.candidates.ann_min_items):
        model.text_.with_inverted_index()


def write(index: AlsCandidateIndex | None, directory: Path) -> dict[str, Any]:
    """Save the index into a version directory; returns the manifest entry ({} without an index)."""
    if index is None:
        return {}
    index.index_.save(directory / FILE)
    return {MANIFEST_KEY: {"als": FILE}}


def read(directory: Path, manifest: Mapping[str, Any], item_factors: np.ndarray | None) -> AlsCandidateIndex | None:
    """The index a version holds, memory-mapped; None for versions without one (or without ``usearch``, or
    when it does not fit the model: the model then finds its candidates exactly)."""
    entry = manifest.get(MANIFEST_KEY)
    if not entry or item_factors is None or not ann.available():
        return None
    try:
        return AlsCandidateIndex(ann.VectorIndex.view(directory / entry["als"], len(item_factors)), item_factors)
    except (ValueError, OSError, RuntimeError) as exc:
        log.warning("model version %s: ALS candidate index not used (%s)", directory.name, exc)
        return None


def als_candidates(
    model: HybridRecommender, user_factor: np.ndarray, n: int, exclude: np.ndarray, norm_power: float
) -> np.ndarray | None:
    """About the ``n`` best ALS papers from the index (item indices, best first); None when the model has no
    index or its catalog is below ``candidates.ann_min_items`` (find them exactly)."""
    index = getattr(model, "candidate_index_", None)
    if index is None or index.n_items_ < int(model.config_.candidates.ann_min_items) or n <= 0:
        return None
    expansion = int(model.config_.candidates.ann_expansion)
    return index.candidates(model.als_, user_factor, n, exclude, norm_power, expansion=expansion)


def als_neighbours(model: HybridRecommender, item: int, n: int, exclude: np.ndarray) -> np.ndarray | None:
    """About the ``n`` papers most similar to ``item`` in ALS factor space, from the index (best first); None
    when :func:`als_candidates` would be (find them exactly)."""
    index = getattr(model, "candidate_index_", None)
    if index is None or index.n_items_ < int(model.config_.candidates.ann_min_items) or n <= 0:
        return None
    return index.neighbours(model.als_, item, n, exclude, expansion=int(model.config_.candidates.ann_expansion))
