"""Item-item co-occurrence neighbours ("readers who saved this also saved ..."), the hybrid's second CF signal.

ALS squeezes every item into a few hundred factors; a paper that a handful of readers saved together with
the user's papers can still rank low there. Counting those readers directly keeps that evidence.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from recommender.models.base import Estimator
from recommender.models.collaborative import positions_in_sorted, top_n_indices

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HistoryScores:
    """A user's co-occurrence scores where they are not 0: ``items`` (ascending) and their ``scores``."""

    items: np.ndarray
    scores: np.ndarray

    def of(self, candidates: np.ndarray) -> np.ndarray:
        """The scores of ``candidates`` (0 for items without one)."""
        candidates = np.asarray(candidates, dtype=np.int64)
        out = np.zeros(len(candidates), dtype=np.float64)
        if not len(self.items):
            return out
        at = np.minimum(np.searchsorted(self.items, candidates), len(self.items) - 1)
        hit = self.items[at] == candidates
        out[hit] = self.scores[at[hit]]
        return out


class ItemCooccurrence(Estimator):
    """Item-item similarity from the users who have both items, pruned to each item's best neighbours.

    ``similarity_[i, j] = c_ij / (n_i ** asymmetry * n_j ** (1 - asymmetry))`` where ``c_ij`` counts the users
    with both items and ``n_i`` the users with item ``i``: ``asymmetry`` 0.5 is the cosine; below 0.5 a widely
    read neighbour ``j`` is discounted more, so a paper does not rank high only because everyone reads it.
    With ``reader_weights="inverse_log"`` each user adds ``1 / log2(1 + library size)`` to ``c_ij`` instead of 1:
    a reader (or crawler) with thousands of papers would otherwise link every one of them, at full strength,
    to papers nobody else reads.
    Row ``i`` keeps its ``neighbours`` largest entries. A user's score for item ``j`` is the sum of
    ``similarity_[i, j]`` over the items ``i`` in their history (any positive interaction counts once).
    ``support_`` has the pattern of ``similarity_`` and holds, for each kept pair, the number of distinct users
    with both items (unweighted ``c_ij``): a reason may only say "readers of i also read j" to others when that
    many people stand behind it.
    """

    READER_WEIGHTS = ("none", "inverse_log")

    section = "cooccurrence"
    extra_params: ClassVar[Mapping[str, Any]] = {"max_block_pairs": 10_000_000}
    fitted_attribute = "similarity_"
    neighbours: int
    asymmetry: float
    reader_weights: str
    max_block_pairs: int

    def _check_params(self) -> None:
        if isinstance(self.neighbours, bool) or not isinstance(self.neighbours, int) or self.neighbours < 1:
            raise ValueError(f"neighbours must be an integer >= 1, got {self.neighbours!r}")
        if isinstance(self.asymmetry, bool) or not isinstance(self.asymmetry, int | float):
            raise ValueError(f"asymmetry must be a number in [0, 1], got {self.asymmetry!r}")
        if not 0.0 <= float(self.asymmetry) <= 1.0:
            raise ValueError(f"asymmetry must be a number in [0, 1], got {self.asymmetry!r}")
        if self.reader_weights not in self.READER_WEIGHTS:
            raise ValueError(f"reader_weights must be one of {self.READER_WEIGHTS}, got {self.reader_weights!r}")
        pairs = self.max_block_pairs
        if isinstance(pairs, bool) or not isinstance(pairs, int) or pairs < 1:
            raise ValueError(f"max_block_pairs must be an integer >= 1, got {pairs!r}")

    # ---------------------------------------------------------------- fitting
    def fit(self, user_items: sp.spmatrix) -> ItemCooccurrence:
        """Count co-occurrences in ``user_items`` (users x items; entries > 0 are the users' items)."""
        self._check_params()
        if not sp.issparse(user_items) or user_items.ndim != 2:
            raise ValueError("user_items must be a 2-d scipy sparse matrix (users x items)")
        binary = sp.csr_matrix(user_items, dtype=np.float32, copy=True)
        binary.data = (binary.data > 0).astype(np.float32)
        binary.eliminate_zeros()
        n_items = binary.shape[1]
        counts = np.asarray(binary.sum(axis=0), dtype=np.float64).ravel()
        safe = np.maximum(counts, 1.0)
        a = float(self.asymmetry)
        row_norm, col_norm = safe**-a, safe ** -(1.0 - a)
        by_item = binary.T.tocsr()  # items x users
        blocks = self._blocks(by_item, binary)
        weighted = by_item
        if self.reader_weights == "inverse_log":
            library = np.maximum(np.diff(binary.indptr), 1).astype(np.float64)
            weight = (1.0 / np.log2(1.0 + library)).astype(np.float32)[by_item.indices]
            # one product counts both: each reader's 1 in the real part, their weight in the imaginary part; one
            # pass over the pairs instead of two, the same counts and the same weighted sums to float32 rounding
            both = (by_item.data + 1j * weight).astype(np.complex64)
            weighted = sp.csr_matrix((both, by_item.indices, by_item.indptr), by_item.shape)
        k = int(self.neighbours)
        indptr = [np.zeros(1, dtype=np.int64)]
        indices, data, support = [], [], []
        end = 0
        for start, stop in blocks:
            block, together = self._pair_block(weighted, binary, start, stop), None
            if weighted is not by_item:
                block.sort_indices()  # before the two parts share its pattern
                block, together = _imaginary(block), _real(block)
            rows, cols, vals, users = self._pruned(block, together, row_norm[start:stop], col_norm, k)
            indices.append(cols)
            data.append(vals.astype(np.float32))
            support.append(np.rint(users).astype(np.int32))
            sizes = np.bincount(rows, minlength=stop - start)
            indptr.append(end + np.cumsum(sizes))
            end += int(sizes.sum())
        pattern = (
            np.concatenate(indices) if indices else np.zeros(0, np.int32),
            np.concatenate(indptr),
        )
        shape = (n_items, n_items)
        self.similarity_ = sp.csr_matrix((np.concatenate(data) if data else np.zeros(0, np.float32), *pattern), shape)
        self.support_ = sp.csr_matrix((np.concatenate(support) if support else np.zeros(0, np.int32), *pattern), shape)
        self.n_items_ = n_items
        self.readers_ = counts.astype(np.float32)
        log.info("co-occurrence: %d items, %d neighbour pairs", n_items, self.similarity_.nnz)
        return self

    @staticmethod
    def _pair_block(by_item: sp.csr_matrix, binary: sp.csr_matrix, start: int, stop: int) -> sp.csr_matrix:
        """Rows ``start:stop`` of the item x item count matrix (``by_item @ binary``), diagonal removed."""
        block = sp.csr_matrix(by_item[start:stop] @ binary, dtype=by_item.dtype)
        block.setdiag(0.0, k=start)
        block.eliminate_zeros()
        return block

    @staticmethod
    def _pruned(
        block: sp.csr_matrix, together: sp.csr_matrix | None, row_norm: np.ndarray, col_norm: np.ndarray, k: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The ``k`` best pairs of each row of ``block`` by normalised count (ties: the lower column), in row
        then column order: their rows, columns, scores and distinct users (``together``'s counts, or the
        block's own when None). One sort over the whole block, no loop over its rows."""
        block.sort_indices()
        rows = np.repeat(np.arange(block.shape[0]), np.diff(block.indptr))
        cols = block.indices
        vals = block.data * (row_norm[rows] * col_norm[cols])
        users = block.data
        if together is not None:
            together.sort_indices()
            if not (np.array_equal(together.indptr, block.indptr) and np.array_equal(together.indices, cols)):
                raise RuntimeError("plain and weighted co-occurrence counts differ in their pairs")
            users = together.data
        order = np.lexsort((cols, -vals, rows))
        rank = np.arange(len(order)) - block.indptr[rows[order]]
        kept = np.sort(order[rank < k])  # the block is in (row, column) order
        return rows[kept], cols[kept], vals[kept], users[kept]

    def _blocks(self, by_item: sp.csr_matrix, binary: sp.csr_matrix) -> list[tuple[int, int]]:
        """Item ranges whose rows of the count matrix hold at most ``max_block_pairs`` pairs (or one item).

        The full item x item count matrix can be far denser than the pruned one: a paper read by many heavy
        readers pairs with most of the catalog. Item ``i``'s row costs the summed history length of its
        readers, an upper bound on its pairs."""
        row_cost = by_item @ np.diff(binary.indptr).astype(np.float64)
        budget = float(self.max_block_pairs)
        blocks, start, used = [], 0, 0.0
        for i, cost in enumerate(row_cost.tolist()):
            if i > start and used + cost > budget:
                blocks.append((start, i))
                start, used = i, 0.0
            used += cost
        if start < len(row_cost):
            blocks.append((start, len(row_cost)))
        return blocks

    @classmethod
    def from_similarity(
        cls,
        similarity: sp.spmatrix,
        readers: np.ndarray | None = None,
        support: np.ndarray | None = None,
        **params: object,
    ) -> ItemCooccurrence:
        """A fitted instance from a stored ``similarity_`` matrix (items x items), ``readers_`` and the data
        array of ``support_`` (aligned with ``similarity``'s entries); None for versions stored without them."""
        model = cls(**params)  # type: ignore[arg-type]
        model._check_params()
        similarity = sp.csr_matrix(similarity, dtype=np.float32)
        if similarity.shape[0] != similarity.shape[1]:
            raise ValueError(f"similarity must be square, got shape {similarity.shape}")
        if readers is not None and np.shape(readers) != (similarity.shape[0],):
            raise ValueError(f"readers must hold one count per item ({similarity.shape[0]}), got {np.shape(readers)}")
        if support is not None and np.shape(support) != (similarity.nnz,):
            raise ValueError(f"support must hold one count per pair ({similarity.nnz}), got {np.shape(support)}")
        model.similarity_ = similarity
        model.n_items_ = similarity.shape[0]
        model.readers_ = None if readers is None else np.asarray(readers, dtype=np.float32)
        model.support_ = None
        if support is not None:
            pattern = (similarity.indices, similarity.indptr)
            model.support_ = sp.csr_matrix((np.asarray(support, dtype=np.int32), *pattern), similarity.shape)
        return model

    def pair_support(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray | None:
        """Distinct users with both items for every (row item, column item) pair as a dense array (0 where the
        pair is not a kept neighbour); None for a version stored without support counts."""
        self._check_fitted()
        if self.support_ is None:
            return None
        return self.support_[np.asarray(rows, dtype=np.int64)][:, np.asarray(cols, dtype=np.int64)].toarray()

    def popularity_weights(self, items: np.ndarray, power: float) -> np.ndarray:
        """``(1 + readers) ** -power`` for ``items`` (1 for indices unknown to the model, or without counts)."""
        self._check_fitted()
        items = np.asarray(items, dtype=np.int64)
        out = np.ones(len(items), dtype=np.float32)
        if self.readers_ is None or not power:
            return out
        ok = (items >= 0) & (items < self.n_items_)
        out[ok] = (1.0 + self.readers_[items[ok]]) ** -float(power)
        return out

    # ---------------------------------------------------------------- scoring
    def _history_rows(self, items: np.ndarray) -> sp.csr_matrix | None:
        """The similarity rows of the known ``items`` (None when none is known or none has a neighbour)."""
        self._check_fitted()
        known = np.unique(np.asarray(items, dtype=np.int64))
        known = known[(known >= 0) & (known < self.n_items_)]
        if not len(known):
            return None
        rows = self.similarity_[known]
        return rows if rows.nnz else None

    def catalog_scores(self, items: np.ndarray) -> np.ndarray | None:
        """Scores of every catalog item for a user whose history holds ``items`` (None when no item is known
        to the model or none has a neighbour)."""
        rows = self._history_rows(items)
        return None if rows is None else np.asarray(rows.sum(axis=0), dtype=np.float64).ravel()

    def history_scores(self, items: np.ndarray) -> HistoryScores | None:
        """:meth:`catalog_scores` without a dense catalog vector: only the neighbours of ``items`` (a request's
        work then follows the history, not the catalog size)."""
        rows = self._history_rows(items)
        if rows is None:
            return None
        neighbours, position = np.unique(rows.indices, return_inverse=True)
        return HistoryScores(neighbours.astype(np.int64), np.bincount(position, weights=rows.data.astype(np.float64)))

    def score(self, scores: np.ndarray | HistoryScores, candidates: np.ndarray) -> np.ndarray:
        """The user's ``scores`` (from :meth:`catalog_scores` or :meth:`history_scores`) of ``candidates``;
        indices unknown to the model get 0."""
        candidates = np.asarray(candidates, dtype=np.int64)
        if isinstance(scores, HistoryScores):
            return scores.of(candidates)
        out = np.zeros(len(candidates), dtype=np.float64)
        ok = (candidates >= 0) & (candidates < len(scores))
        out[ok] = scores[candidates[ok]]
        return out

    def top_n(self, scores: np.ndarray | HistoryScores, n: int, *, exclude: np.ndarray | None = None) -> np.ndarray:
        """Indices of the ``n`` items with the best positive ``scores`` (from :meth:`catalog_scores` or
        :meth:`history_scores`), best first."""
        if isinstance(scores, HistoryScores):
            skip = positions_in_sorted(scores.items, exclude)
            best = top_n_indices(scores.scores, int(n), skip)[0]
            return scores.items[best[scores.scores[best] > 0]]
        best = top_n_indices(scores, int(n), exclude)[0]
        return best[scores[best] > 0]

    def score_rows(self, user_items: sp.spmatrix) -> np.ndarray:
        """Scores of every item for users given as rows of a users x items matrix (dense float32)."""
        self._check_fitted()
        rows = sp.csr_matrix(user_items, dtype=np.float32, copy=True)
        if rows.shape[1] != self.n_items_:
            raise ValueError(f"user_items has {rows.shape[1]} columns, the model {self.n_items_} items")
        rows.data = (rows.data > 0).astype(np.float32)
        return np.asarray((rows @ self.similarity_).todense(), dtype=np.float32)


def _real(block: sp.csr_matrix) -> sp.csr_matrix:
    return sp.csr_matrix((block.data.real.astype(np.float32), block.indices, block.indptr), block.shape)


def _imaginary(block: sp.csr_matrix) -> sp.csr_matrix:
    return sp.csr_matrix((block.data.imag.astype(np.float32), block.indices, block.indptr), block.shape)
