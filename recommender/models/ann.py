"""Approximate nearest-neighbour index over item vectors (cosine), built with ``usearch``.

A request only needs the best few hundred papers of each component as *candidates*: they are scored exactly
afterwards. Over a large catalog the exact top-n (one dot product per paper) dominates a request, so above a
catalog size (``candidates.ann_min_items``) the ALS candidates come from an HNSW graph instead
(:mod:`recommender.serving.candidate_index`). The index is written with the model version and opened
memory-mapped (``view``), never unpickled, so every worker of a host shares one copy in the page cache.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

# HNSW build settings: 16 links per node and a 128-wide build search are the library's usual choice for a few
# hundred dimensions; vectors are stored as float16 (half the memory; candidates are rescored exactly).
CONNECTIVITY = 16
EXPANSION_ADD = 128
DTYPE = "f16"


def available() -> bool:
    """Whether the ``usearch`` package is importable (the index is optional: without it, search is exact)."""
    try:
        import usearch.index  # noqa: F401
    except ImportError:
        return False
    return True


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """``vectors`` with every non-zero row scaled to length 1 (float32)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1)
    return (vectors / np.where(norms > 0, norms, 1.0)[:, None]).astype(np.float32)


class VectorIndex:
    """A cosine HNSW index whose keys are the row numbers of the indexed matrix."""

    def __init__(self, index: object, n_items: int) -> None:
        self.index_ = index
        self.n_items_ = int(n_items)

    @classmethod
    def build(cls, vectors: np.ndarray, *, threads: int = 0) -> VectorIndex:
        """Index the rows of ``vectors`` (items x dimensions) by direction. ``threads`` 0: all cores."""
        from usearch.index import Index

        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] < 1:
            raise ValueError(f"vectors must be a 2-d items x dimensions array, got shape {vectors.shape}")
        # unit rows and the inner product: the cosine, without usearch normalising every query again
        index = Index(
            ndim=vectors.shape[1], metric="ip", dtype=DTYPE, connectivity=CONNECTIVITY, expansion_add=EXPANSION_ADD
        )
        if len(vectors):
            index.add(
                np.arange(len(vectors), dtype=np.uint64), np.ascontiguousarray(unit_rows(vectors)), threads=threads
            )
        return cls(index, len(vectors))

    def save(self, path: str | Path) -> None:
        """Write the index to ``path`` (the caller renames the directory holding it into place)."""
        self.index_.save(os.fspath(path))

    @classmethod
    def view(cls, path: str | Path, n_items: int) -> VectorIndex:
        """Open a saved index memory-mapped (read-only, shared between processes); ValueError when it does not
        hold ``n_items`` items."""
        from usearch.index import Index

        index = Index.restore(os.fspath(path), view=True)
        if index is None or len(index) != int(n_items):
            found = None if index is None else len(index)
            raise ValueError(f"candidate index {path} holds {found} items, the model {n_items}")
        return cls(index, n_items)

    def search(self, query: np.ndarray, n: int, *, expansion: int, exclude: np.ndarray | None = None) -> np.ndarray:
        """Row numbers of about the ``n`` rows closest in direction to ``query``, best first, without
        ``exclude``. ``expansion``: the HNSW search width (raised to at least the number asked)."""
        exclude = np.zeros(0, dtype=np.int64) if exclude is None else np.asarray(exclude, dtype=np.int64)
        want = min(int(n) + len(exclude), self.n_items_)
        if int(n) <= 0 or want <= 0:
            return np.zeros(0, dtype=np.int64)
        self.index_.expansion_search = max(int(expansion), want)
        norm = float(np.linalg.norm(query))
        query = np.asarray(query, dtype=np.float32).ravel() / (norm if norm > 0 else 1.0)
        found = self.index_.search(query, want, threads=1)
        keys = np.asarray(found.keys, dtype=np.int64)[: len(found)]
        if len(exclude):
            keys = keys[~np.isin(keys, exclude)]
        return keys[: int(n)]
