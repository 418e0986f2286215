"""The ranking methods the evaluation compares; each ranks the whole catalog, batched over users.

- :class:`TopPop`: training popularity.
- :class:`LibraryHybrid`: the library's :class:`~recommender.serving.HybridRecommender`, fitted through the same
  ``fit`` the server's training uses, serving its text, CF and co-occurrence components and its blend
  (:meth:`HybridRecommender.score_matrix`) as methods.
- :class:`AslSvm`: the arxiv-sanity-lite recommender as a peer: TF-IDF (1-2-grams, 20k features), one LinearSVC
  per user (C=0.01, balanced classes; positives = the user's training items, negatives = all other items),
  ranked by the decision function.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommender.config import merge_config
from recommender.interactions import InteractionData, build_matrix
from recommender.offline.datasets import CiteULikeData
from recommender.serving import HybridRecommender, PaperDoc

# the library component behind each method name (``HybridRecommender.score_matrix``'s ``component``);
# ``als_cf`` is ``als`` served by a fit without text pseudo-users (see the runner)
LIBRARY_COMPONENTS = {"text": "text", "als": "cf", "als_cf": "cf", "cooccurrence": "cooccurrence", "hybrid": "blend"}


class Method:
    """A ranking method: ``fit(data)`` then ``score(users)`` -> dense float32 (len(users) x n_items)."""

    name = "method"

    def fit(self, data: CiteULikeData) -> Method:  # pragma: no cover - interface
        raise NotImplementedError

    def score(self, users: np.ndarray) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError


class TopPop(Method):
    name = "toppop"

    def fit(self, data: CiteULikeData) -> TopPop:
        self.pop_ = np.asarray(data.train.sum(axis=0), dtype=np.float32).ravel()
        return self

    def score(self, users: np.ndarray) -> np.ndarray:
        return np.tile(self.pop_, (len(users), 1))


def library_papers(data: CiteULikeData) -> list[PaperDoc]:
    """The dataset's items as the library's ``PaperDoc`` catalog (key = item id as a string)."""
    return [
        PaperDoc(
            key=str(d["id"]),
            title=d["title"],
            abstract=d["abstract"],
            keywords=tuple(d["keywords"]),
            references=tuple(str(j) for j in d["references"]),
        )
        for d in data.papers()
    ]


def library_interactions(train: sp.csr_matrix, config: Mapping[str, Any]) -> InteractionData:
    """Training pairs as the server's interaction log would hold them: one ``save`` per (user, paper), all at
    the same instant (the dataset has no timestamps, so time decay is 1)."""
    coo = train.tocoo()
    n = coo.nnz
    t0 = 1.7e9
    return build_matrix(
        coo.row.astype(str),
        coo.col.astype(str),
        np.full(n, "save", dtype=object),
        np.full(n, t0),
        weights=config["events"]["weights"],
        half_life_days=config["events"]["half_life_days"],
        now=t0,
        user_keys=[str(u) for u in range(train.shape[0])],
        item_keys=[str(i) for i in range(train.shape[1])],
    )


class LibraryHybrid:
    """Fits the library's HybridRecommender once and serves its components and blend as methods."""

    def __init__(self, config: Mapping[str, Any] | None = None, *, show_progress: bool = False) -> None:
        self.config = merge_config(config)
        self.show_progress = show_progress
        self.fit_seconds = 0.0

    def fit(self, data: CiteULikeData) -> LibraryHybrid:
        t0 = time.perf_counter()
        inter = library_interactions(data.train, self.config)
        self.model_ = HybridRecommender(config=self.config).fit(
            library_papers(data), inter, show_progress=self.show_progress
        )
        self.user_items_ = inter.matrix.tocsr()
        self.popularity_ = np.asarray(inter.matrix.sum(axis=0), dtype=np.float64).ravel()
        self.fit_seconds = time.perf_counter() - t0
        return self

    def method(self, name: str) -> LibraryComponent:
        """The method ``name`` (a key of :data:`LIBRARY_COMPONENTS`) served by this fit."""
        return LibraryComponent(self, LIBRARY_COMPONENTS[name], name=name)


class LibraryComponent(Method):
    """One component (or the blend) of a fitted :class:`LibraryHybrid`, scored with ``score_matrix``."""

    def __init__(self, owner: LibraryHybrid, component: str, *, name: str) -> None:
        self.owner = owner
        self.component = component
        self.name = name

    def fit(self, data: CiteULikeData) -> LibraryComponent:
        if not hasattr(self.owner, "model_"):
            self.owner.fit(data)
        return self

    def score(self, users: np.ndarray) -> np.ndarray:
        o = self.owner
        return o.model_.score_matrix(o.user_items_[users], component=self.component, trending=o.popularity_)


class AslSvm(Method):
    """arxiv-sanity-lite's recommender (karpathy/arxiv-sanity-lite, ``serve.py`` / ``compute.py``): TF-IDF with
    the project's settings and one LinearSVC per user, ranked by the decision function. Per-user SVMs are
    trained lazily inside :meth:`score` (their time is reported as fit time)."""

    name = "asl_svm"

    def __init__(self, *, max_features: int = 20000, C: float = 0.01, n_jobs: int = 1) -> None:
        self.max_features = max_features
        self.C = C
        self.n_jobs = n_jobs
        self.svm_seconds = 0.0

    def fit(self, data: CiteULikeData) -> AslSvm:
        from sklearn.feature_extraction.text import TfidfVectorizer

        docs = [" ".join([d["title"], d["abstract"], " ".join(d["keywords"])]) for d in data.papers()]
        v = TfidfVectorizer(
            input="content",
            encoding="utf-8",
            decode_error="replace",
            strip_accents="unicode",
            lowercase=True,
            analyzer="word",
            stop_words="english",
            token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b",
            ngram_range=(1, 2),
            max_features=self.max_features,
            norm="l2",
            use_idf=True,
            smooth_idf=True,
            sublinear_tf=True,
            max_df=0.1,
            min_df=5,
            dtype=np.float32,
        )
        self.X_ = sp.csr_matrix(v.fit_transform(docs), dtype=np.float64)
        self.train_ = data.train
        return self

    def _one(self, u: int) -> tuple[np.ndarray, float]:
        from sklearn import svm

        t0 = time.perf_counter()
        y = np.zeros(self.X_.shape[0], dtype=np.int8)
        y[self.train_.indices[self.train_.indptr[u] : self.train_.indptr[u + 1]]] = 1
        clf = svm.LinearSVC(class_weight="balanced", verbose=False, max_iter=10000, tol=1e-6, C=self.C)
        clf.fit(self.X_, y)
        t1 = time.perf_counter()
        return clf.decision_function(self.X_).astype(np.float32), t1 - t0

    def score(self, users: np.ndarray) -> np.ndarray:
        if self.n_jobs > 1 and len(users) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(self.n_jobs) as ex:
                res = list(ex.map(self._one, [int(u) for u in users]))
        else:
            res = [self._one(int(u)) for u in users]
        self.svm_seconds += sum(t for _, t in res)
        return np.vstack([s for s, _ in res])
