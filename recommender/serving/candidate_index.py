"""The ALS candidate indexes of a model (:mod:`recommender.models.ann`): built at training above
``candidates.ann_min_items`` papers, written with the model version, opened memory-mapped.

A request ranks ALS candidates by ``u . y_i / ||y_i|| ** p`` with the power ``p`` (``cf_item_norm``) of the
user's blend, so there is one inner-product index per power the config's blends use, over the item factors
scaled by ``||y_i|| ** -p``. Below the threshold, without an index for the power, or without ``usearch``,
candidates are found exactly, as before.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from recommender.models import ann

if TYPE_CHECKING:
    from recommender.config import Config
    from recommender.serving.hybrid import HybridRecommender

log = logging.getLogger(__name__)

MANIFEST_KEY = "candidate_index"


def norm_powers(cfg: Config) -> list[float]:
    """The ``cf_item_norm`` powers of the config's blends (one index each)."""
    return sorted({float(cfg.blend.options.cf_item_norm), float(cfg.blend_long_history.options.cf_item_norm)})


def wanted(cfg: Config, n_items: int) -> bool:
    """Whether a catalog of ``n_items`` papers gets ANN candidates under ``cfg``."""
    return n_items >= int(cfg.candidates.ann_min_items) and ann.available()


def build(cfg: Config, item_factors: np.ndarray | None) -> dict[float, ann.VectorIndex] | None:
    """One index per :func:`norm_powers` power over ``item_factors``; None when not :func:`wanted`."""
    if item_factors is None or not wanted(cfg, len(item_factors)):
        return None
    indexes = {p: ann.VectorIndex.build(ann.scaled_rows(item_factors, p)) for p in norm_powers(cfg)}
    log.info("built %d ALS candidate index(es) over %d papers", len(indexes), len(item_factors))
    return indexes


def write(indexes: Mapping[float, ann.VectorIndex] | None, directory: Path) -> dict[str, Any]:
    """Save the indexes into a version directory; returns the manifest entry ({} when there are none)."""
    if not indexes:
        return {}
    als = []
    for i, (power, index) in enumerate(sorted(indexes.items())):
        name = f"ann_als_{i}.usearch"
        index.save(directory / name)
        als.append({"norm_power": float(power), "file": name})
    return {MANIFEST_KEY: {"als": als}}


def read(directory: Path, manifest: Mapping[str, Any], n_items: int) -> dict[float, ann.VectorIndex] | None:
    """The indexes a version holds, memory-mapped; None for versions without any (or without ``usearch``, or
    when one does not fit the model: the model then finds its candidates exactly)."""
    entry = manifest.get(MANIFEST_KEY)
    if not entry or not ann.available():
        return None
    try:
        return {float(e["norm_power"]): ann.VectorIndex.view(directory / e["file"], n_items) for e in entry["als"]}
    except (ValueError, OSError, RuntimeError) as exc:
        log.warning("model version %s: ALS candidate index not used (%s)", directory.name, exc)
        return None


def als_candidates(
    model: HybridRecommender, user_factor: np.ndarray, n: int, exclude: np.ndarray, norm_power: float
) -> np.ndarray | None:
    """About the ``n`` best ALS papers from the index (item indices, best first); None when the model has no
    index for ``norm_power`` or its catalog is below ``candidates.ann_min_items`` (find them exactly)."""
    indexes = getattr(model, "candidate_index_", None)
    index = indexes.get(float(norm_power)) if indexes else None
    cfg = model.config_.candidates
    if index is None or index.n_items_ < int(cfg.ann_min_items):
        return None
    return index.search(user_factor, n, expansion=int(cfg.ann_expansion), exclude=exclude)
