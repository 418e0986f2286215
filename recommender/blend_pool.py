"""The blend choice's rows restricted to the papers a request would rank (``candidates`` of the config).

A request ranks only its candidates: each component's best papers (``candidates.als`` by the CF score, both by
dot product and by cosine, ``text``, ``cooccurrence``, ``trending``; the last three only where they score above
0), the user's own left out. Scoring the blend grid over those instead of the whole catalog measures what is
served and costs the grid a pool of a few hundred papers per row instead of the catalog. The scaling is
unchanged: each component's best remaining paper, the row's maximum, is in the pool.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recommender.config import CandidatesConfig

# components a request takes candidates from only where they score above 0 (text and co-occurrence top_n,
# the trending list)
POSITIVE_ONLY = frozenset({"cooccurrence", "text", "trend"})
# below this share of positive scores, a component's best are found among its positive scores alone
SPARSE_SHARE = 0.25
# which candidate size bounds each raw component's share of the pool
_SIZE_OF = {"cf": "als", "cf_cosine": "als", "cooccurrence": "cooccurrence", "text": "text", "trend": "trending"}


@dataclass
class PooledChunk:
    """One chunk of rows in pool coordinates: column j of row r is catalog paper ``items[r, j]``."""

    raw: dict[str, np.ndarray]  # rows x width, each component's raw score of the pooled papers
    padding: sp.csr_matrix  # rows x width, the unused columns of rows whose pool is narrower than the widest
    held: sp.csr_matrix  # rows x width, the held-out papers that are in the pool
    n_relevant: np.ndarray  # per row, every held-out paper (those outside the pool count as missed)
    items: np.ndarray  # rows x width, catalog indices (0 under padding)


def pool_chunk(
    raw: Mapping[str, np.ndarray], inputs: sp.csr_matrix, held: sp.csr_matrix, sizes: CandidatesConfig
) -> PooledChunk:
    """``raw`` (component -> rows x catalog scores, ``cf_cosine`` included) restricted to each row's pool."""
    n_rows, n_items = inputs.shape
    member = _members(raw, inputs, sizes)
    rows, cols = np.nonzero(member)  # by row, then by catalog index: ties keep ranking by the lower index
    counts = np.bincount(rows, minlength=n_rows)
    width = max(int(counts.max(initial=0)), 1)
    slot = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
    items = np.zeros((n_rows, width), dtype=np.int64)
    items[rows, slot] = cols
    padding = np.ones((n_rows, width), dtype=bool)
    padding[rows, slot] = False
    held = sp.csr_matrix(held)
    held_rows, held_items = held.nonzero()
    pooled_keys = rows.astype(np.int64) * n_items + cols
    held_keys = held_rows.astype(np.int64) * n_items + held_items
    at = np.minimum(np.searchsorted(pooled_keys, held_keys), max(len(pooled_keys) - 1, 0))
    found = (pooled_keys[at] == held_keys) if len(pooled_keys) else np.zeros(len(held_keys), dtype=bool)
    held_pooled = sp.csr_matrix(
        (np.ones(int(found.sum()), dtype=np.float32), (held_rows[found], slot[at[found]])), shape=(n_rows, width)
    )
    return PooledChunk(
        raw={c: np.take_along_axis(np.asarray(v), items, axis=1) for c, v in raw.items()},
        padding=sp.csr_matrix(padding),
        held=held_pooled,
        n_relevant=np.diff(held.indptr),
        items=items,
    )


def _members(raw: Mapping[str, np.ndarray], inputs: sp.csr_matrix, sizes: CandidatesConfig) -> np.ndarray:
    """rows x catalog: whether a paper is among a row's candidates (a component's best, inputs left out)."""
    n_rows, n_items = inputs.shape
    member = np.zeros((n_rows, n_items), dtype=bool)
    input_rows, input_items = inputs.nonzero()
    for c, values in raw.items():
        n = min(int(getattr(sizes, _SIZE_OF[c], 0)), n_items) if c in _SIZE_OF else 0
        if n <= 0:
            continue
        v = np.array(values, dtype=np.float32)
        v[~np.isfinite(v)] = -np.inf
        v[input_rows, input_items] = -np.inf
        if c in POSITIVE_ONLY:
            positive = v > 0
            if positive.mean() < SPARSE_SHARE:
                _mark_best_sparse(member, sp.csr_matrix(np.where(positive, v, 0.0)), n)
                continue
            v[~positive] = -np.inf
        # each row's n-th best value; papers tied with it are all taken (a request takes some of them)
        cut = np.partition(v, n_items - n, axis=1)[:, n_items - n]
        member |= (v >= cut[:, None]) & np.isfinite(v)
    return member


def _mark_best_sparse(member: np.ndarray, scores: sp.csr_matrix, n: int) -> None:
    """Mark each row's ``n`` best stored scores (ties with the n-th included): selecting among a row's few
    positive scores is far cheaper than over a row of mostly zeros."""
    for r in range(scores.shape[0]):
        values = scores.data[scores.indptr[r] : scores.indptr[r + 1]]
        items = scores.indices[scores.indptr[r] : scores.indptr[r + 1]]
        if len(values) > n:
            items = items[values >= np.partition(values, len(values) - n)[len(values) - n]]
        member[r, items] = True
