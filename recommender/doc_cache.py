"""Text vectors of papers the fitted catalog does not hold, computed once per paper, not once per request."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import scipy.sparse as sp

from recommender.models.content import TextModel


class _Doc(Protocol):
    key: str

    @property
    def text(self) -> str: ...


class DocVectorCache:
    """A bounded, thread-safe LRU of TF-IDF rows keyed by paper key (and re-computed if the text changes).

    It belongs to one fitted text model and dies with it, so a new model never sees stale vectors.
    """

    def __init__(self, text_model: TextModel, *, maxsize: int = 50_000) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be >= 1, got {maxsize!r}")
        self.text_model = text_model
        self.maxsize = maxsize
        self._rows: OrderedDict[str, tuple[int, np.ndarray, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._rows)

    def vectors(self, docs: Sequence[_Doc]) -> sp.csr_matrix:
        """One L2-normalised row per document, in order."""
        n_terms = self.text_model.item_vectors_.shape[1]
        found: list[tuple[np.ndarray, np.ndarray] | None] = [None] * len(docs)
        missing: list[int] = []
        with self._lock:
            for i, doc in enumerate(docs):
                hit = self._rows.get(doc.key)
                if hit is not None and hit[0] == hash(doc.text):
                    self._rows.move_to_end(doc.key)
                    found[i] = (hit[1], hit[2])
                else:
                    missing.append(i)
        if missing:
            fresh = self.text_model.transform([docs[i].text for i in missing])
            with self._lock:
                for j, i in enumerate(missing):
                    lo, hi = fresh.indptr[j], fresh.indptr[j + 1]
                    row = (fresh.indices[lo:hi].copy(), fresh.data[lo:hi].copy())
                    found[i] = row
                    self._rows[docs[i].key] = (hash(docs[i].text), *row)
                    self._rows.move_to_end(docs[i].key)
                while len(self._rows) > self.maxsize:
                    self._rows.popitem(last=False)
        lengths = np.fromiter((len(r[0]) for r in found), dtype=np.int64, count=len(found))
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        indices = np.concatenate([r[0] for r in found]) if found else np.zeros(0, dtype=np.int32)
        data = np.concatenate([r[1] for r in found]) if found else np.zeros(0, dtype=np.float32)
        return sp.csr_matrix((data, indices, indptr), shape=(len(found), n_terms), dtype=np.float32)
