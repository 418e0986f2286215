"""Item cold start: place papers nobody has read yet (added after the last retrain) in the collaborative space
from their title and abstract alone, and score them for a reader's history.

Two kinds of component, each over one text representation of the papers:

- ``cf`` (mapped factors): a new paper's ALS factor is the mean of the factors of its ``neighbours`` most
  similar catalog papers, weighted by similarity ** power; its score for a reader is the cosine between that
  factor and the reader's folded-in ALS factor. It carries what readers did with papers like this one.
- ``readers`` (text neighbours through the reader's history): ``sum_j in history S_ij ** p`` divided by
  ``sqrt(sum_j in catalog S_ij ** p)``, over the new paper's ``neighbours`` most similar catalog papers, so a
  paper close to many of the reader's papers wins, and one close to everything is damped.

The representations are ``words`` (TF-IDF of word 1-2-grams), ``chars`` (TF-IDF of character 3-5-grams within
words, robust to inflections and to the short titles most new papers come with) and, when the optional
``embedding`` extra is installed, ``embedding`` (all-MiniLM-L6-v2 sentence embeddings, from the weights shipped
inside the package: nothing is downloaded at run time). Catalog papers are read with what the catalog knows
about them (:func:`catalog_text`: keywords, titles of the papers they cite); new papers with their title and
abstract only (:func:`new_paper_text`), as a paper announced today has nothing else.

The blend scales each component to a per-reader maximum of 1 and adds them with their weights. The default
components were chosen on the validation items of a published item cold-start split (docs/evaluation.md).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from recommender import char_ngrams
from recommender.embedding import Embedder, PackagedMiniLM, embedding_available

log = logging.getLogger(__name__)

KINDS = ("cf", "readers")
REPRESENTATIONS = ("words", "chars", "embedding")
# (kind, representation, power, weight); chosen on the validation split (docs/evaluation.md)
TEXT_COMPONENTS: tuple[tuple[str, str, float, float], ...] = (
    ("cf", "words", 2.0, 1.0),
    ("cf", "chars", 4.0, 1.0),
    ("readers", "words", 1.0, 0.5),
)
EMBEDDING_COMPONENTS: tuple[tuple[str, str, float, float], ...] = (
    ("cf", "words", 2.0, 1.0),
    ("cf", "embedding", 4.0, 1.0),
    ("readers", "embedding", 4.0, 1.0),
)
_ROW_BLOCK = 1024  # new papers per block of the dense similarity matrix


def catalog_text(title: str, abstract: str = "", keywords: Sequence[str] = (), cited_titles: Sequence[str] = ()) -> str:
    """A catalog paper's text: title, abstract, its keywords' words and the titles of the papers it cites."""
    parts = [title, abstract, " ".join(keywords), " . ".join(cited_titles)]
    return " . ".join(p.strip() for p in parts if p and p.strip())


def new_paper_text(title: str, abstract: str = "") -> str:
    """A new paper's text: what it is announced with."""
    return " . ".join(p.strip() for p in (title, abstract) if p and p.strip())


@dataclass(frozen=True)
class NewPapers:
    """New papers as the fitted scorer sees them: per component, mapped factors (``cf``, rows L2-normalised) or
    neighbour weights (``readers``, new papers x catalog papers)."""

    n: int
    parts: Mapping[str, np.ndarray | sp.csr_matrix]
    # the first ``cf`` component's neighbour weights (new papers x catalog papers): whose readers a mapped factor
    # comes from, for reasons; None without a cf component
    neighbours: sp.csr_matrix | None = None

    def take(self, rows: np.ndarray) -> NewPapers:
        """These new papers' ``rows``, in that order."""
        rows = np.asarray(rows, dtype=np.int64)
        nb = None if self.neighbours is None else self.neighbours[rows]
        return NewPapers(n=len(rows), parts={k: v[rows] for k, v in self.parts.items()}, neighbours=nb)

    def stacked(self, more: NewPapers) -> NewPapers:
        """These new papers followed by ``more`` (mapped by the same scorer)."""

        def stack(a: np.ndarray | sp.csr_matrix, b: np.ndarray | sp.csr_matrix) -> np.ndarray | sp.csr_matrix:
            return sp.csr_matrix(sp.vstack([a, b])) if sp.issparse(a) else np.vstack([a, b])

        nb = None if self.neighbours is None else stack(self.neighbours, more.neighbours)
        parts = {k: stack(v, more.parts[k]) for k, v in self.parts.items()}
        return NewPapers(n=self.n + more.n, parts=parts, neighbours=nb)  # type: ignore[arg-type]


def component_name(kind: str, representation: str) -> str:
    return f"{kind}_{representation}"


class ColdStartScorer:
    """Maps new papers into a fitted model's collaborative space and scores them for readers' histories.

    ``components``: ``(kind, representation, power, weight)`` tuples (see the module docstring); ``None`` takes
    :data:`EMBEDDING_COMPONENTS` when the embedding can be used, else :data:`TEXT_COMPONENTS`.
    ``embedding``: ``"auto"`` (used when the ``embed`` extra is installed), ``"off"``, or an object with
    ``encode(texts) -> array`` (rows are L2-normalised here). ``neighbours``: catalog papers kept per new paper.
    """

    def __init__(
        self,
        *,
        components: Sequence[tuple[str, str, float, float]] | None = None,
        neighbours: int = 200,
        embedding: str | Embedder = "auto",
        min_df: int = 2,
    ) -> None:
        self.components = components
        self.neighbours = neighbours
        self.embedding = embedding
        self.min_df = min_df

    # ------------------------------------------------------------------ fitting
    def _embedder(self) -> Embedder | None:
        if isinstance(self.embedding, str):
            if self.embedding not in ("auto", "off"):
                raise ValueError(f"embedding must be 'auto', 'off' or an encoder, got {self.embedding!r}")
            if self.embedding == "off" or not embedding_available():
                return None
            return PackagedMiniLM()
        if not callable(getattr(self.embedding, "encode", None)):
            raise ValueError(f"embedding must be 'auto', 'off' or an encoder, got {type(self.embedding).__name__}")
        return self.embedding

    def _check_params(self, embedder: Embedder | None) -> list[tuple[str, str, float, float]]:
        if int(self.neighbours) < 1:
            raise ValueError(f"neighbours must be >= 1, got {self.neighbours!r}")
        comps = self.components
        if comps is None:
            comps = EMBEDDING_COMPONENTS if embedder is not None else TEXT_COMPONENTS
        out = []
        for c in comps:
            if len(c) != 4:
                raise ValueError(f"a component is (kind, representation, power, weight), got {c!r}")
            kind, rep, power, weight = c[0], c[1], float(c[2]), float(c[3])
            if kind not in KINDS or rep not in REPRESENTATIONS:
                raise ValueError(f"unknown component {c!r}: kinds {KINDS}, representations {REPRESENTATIONS}")
            if not (power >= 0 and weight >= 0 and np.isfinite(power) and np.isfinite(weight)):
                raise ValueError(f"component {c!r}: power and weight must be finite and >= 0")
            if rep == "embedding" and embedder is None:
                raise ValueError("an embedding component needs the embedding (install the 'embed' extra)")
            out.append((kind, rep, power, weight))
        if not out or sum(c[3] for c in out) <= 0:
            raise ValueError("at least one component with a weight > 0 is needed")
        if len({component_name(k, r) for k, r, _, _ in out}) != len(out):
            raise ValueError("each (kind, representation) may appear once")
        return out

    def fit(
        self,
        texts: Sequence[str],
        item_factors: np.ndarray | None = None,
        *,
        embedding_texts: Sequence[str] | None = None,
    ) -> ColdStartScorer:
        """Learn the text spaces from the catalog's ``texts`` (see :func:`catalog_text`), one per row of
        ``item_factors`` (the fitted ALS item factors; None when the model has no CF: ``cf`` components then
        score 0). ``embedding_texts`` (default ``texts``) are the catalog papers as the embedding reads them:
        title and abstract (:func:`new_paper_text`) cost a fraction of the enriched text, which a sentence
        encoder would truncate anyway, and read like the new papers they are compared with."""
        embedder = self._embedder()
        self.components_ = self._check_params(embedder)
        texts = [str(t) for t in texts]
        if not texts:
            raise ValueError("nothing to fit: no catalog texts")
        if item_factors is not None:
            item_factors = np.asarray(item_factors, dtype=np.float32)
            if item_factors.ndim != 2 or item_factors.shape[0] != len(texts):
                raise ValueError(f"item_factors must be {len(texts)} x factors, got shape {item_factors.shape}")
            if not np.all(np.isfinite(item_factors)):
                raise ValueError("item_factors must be finite")
        self.item_factors_ = item_factors
        self.n_items_ = len(texts)
        reps = {rep for _, rep, _, _ in self.components_}
        self.vectorizers_: dict[str, TfidfVectorizer] = {}
        self.item_vectors_: dict[str, np.ndarray | sp.csr_matrix] = {}
        for rep in sorted(reps - {"embedding"}):
            vec = self._new_vectorizer(rep, len(texts))
            self.item_vectors_[rep] = sp.csr_matrix(char_ngrams.fit_transform(vec, texts), dtype=np.float32)
            self.vectorizers_[rep] = vec
        self.embedder_ = embedder if "embedding" in reps else None
        if self.embedder_ is not None:
            plain = texts if embedding_texts is None else [str(t) for t in embedding_texts]
            if len(plain) != len(texts):
                raise ValueError(f"embedding_texts has {len(plain)} texts, the catalog {len(texts)}")
            self.item_vectors_["embedding"] = _unit_rows(self.embedder_.encode(plain))
        return self

    def _new_vectorizer(self, rep: str, n_docs: int, vocabulary: Mapping[str, int] | None = None) -> TfidfVectorizer:
        min_df = min(int(self.min_df), n_docs)
        if rep == "words":
            return TfidfVectorizer(
                ngram_range=(1, 2),
                stop_words="english",
                sublinear_tf=True,
                min_df=min_df,
                dtype=np.float32,
                vocabulary=vocabulary,
            )
        return TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(3, 5),
            sublinear_tf=True,
            min_df=min_df,
            dtype=np.float32,
            vocabulary=vocabulary,
        )

    @classmethod
    def from_arrays(
        cls,
        *,
        components: Sequence[Sequence[Any]],
        neighbours: int,
        min_df: int,
        vocabularies: Mapping[str, Mapping[str, int]],
        idf: Mapping[str, np.ndarray],
        item_vectors: Mapping[str, np.ndarray | sp.csr_matrix],
        item_factors: np.ndarray | None,
        embedder: Embedder | None = None,
    ) -> ColdStartScorer:
        """A fitted scorer rebuilt from what :mod:`recommender.store` keeps (no pickle): per TF-IDF
        representation its vocabulary, idf and catalog vectors, the embedding's catalog vectors, and the model's
        ALS item factors. An ``embedding`` component needs ``embedder`` (ValueError without it)."""
        comps = [tuple(c) for c in components]
        scorer = cls(components=comps, neighbours=neighbours, embedding=embedder or "off", min_df=min_df)  # type: ignore[arg-type]
        scorer.components_ = scorer._check_params(embedder)
        reps = {rep for _, rep, _, _ in scorer.components_}
        if set(item_vectors) != reps or set(vocabularies) != reps - {"embedding"}:
            raise ValueError(f"stored cold-start vectors {sorted(item_vectors)} do not match components {sorted(reps)}")
        sizes = {v.shape[0] for v in item_vectors.values()}
        if len(sizes) != 1 or (item_factors is not None and item_factors.shape[0] not in sizes):
            raise ValueError("inconsistent cold-start parts: catalog sizes differ")
        scorer.n_items_ = sizes.pop()
        scorer.item_factors_ = None if item_factors is None else np.asarray(item_factors, dtype=np.float32)
        scorer.vectorizers_, scorer.item_vectors_ = {}, {}
        for rep in sorted(reps - {"embedding"}):
            vocab = {str(k): int(v) for k, v in vocabularies[rep].items()}
            if len(idf[rep]) != len(vocab) or item_vectors[rep].shape[1] != len(vocab):
                raise ValueError(f"inconsistent cold-start {rep!r} space: vocabulary, idf and vectors differ")
            vec = scorer._new_vectorizer(rep, scorer.n_items_, vocab)
            vec.idf_ = np.asarray(idf[rep], dtype=np.float64)
            scorer.vectorizers_[rep] = vec
            scorer.item_vectors_[rep] = sp.csr_matrix(item_vectors[rep], dtype=np.float32)
        if "embedding" in reps:
            scorer.item_vectors_["embedding"] = np.asarray(item_vectors["embedding"], dtype=np.float32)
        scorer.embedder_ = embedder if "embedding" in reps else None
        return scorer

    def _check_fitted(self) -> None:
        if not hasattr(self, "components_"):
            raise ValueError("this ColdStartScorer is not fitted yet; call fit() first")

    @property
    def component_names(self) -> list[str]:
        self._check_fitted()
        return [component_name(k, r) for k, r, _, _ in self.components_]

    # ------------------------------------------------------------------ new papers
    def transform(self, texts: Sequence[str]) -> NewPapers:
        """New papers (see :func:`new_paper_text`) as each component sees them."""
        self._check_fitted()
        texts = [str(t) for t in texts]
        vectors = {rep: self._vectors(rep, texts) for rep in self.item_vectors_}
        parts: dict[str, np.ndarray | sp.csr_matrix] = {}
        neighbours = None
        # one neighbour search per representation: ``cf`` and ``readers`` over the same space share it
        similarities = {rep: self._neighbour_similarities(vectors[rep], rep) for rep in vectors}
        for kind, rep, power, _ in self.components_:
            sims = similarities[rep]
            name = component_name(kind, rep)
            parts[name] = self._mapped_factors(sims, power) if kind == "cf" else self._reader_weights(sims, power)
            if kind == "cf" and neighbours is None:
                neighbours = sims.copy()
                neighbours.data = neighbours.data**power
        return NewPapers(n=len(texts), parts=parts, neighbours=neighbours)

    def _vectors(self, rep: str, texts: list[str]) -> np.ndarray | sp.csr_matrix:
        if rep == "embedding":
            assert self.embedder_ is not None
            return _unit_rows(self.embedder_.encode(texts)) if texts else np.zeros((0, 1), dtype=np.float32)
        return sp.csr_matrix(self.vectorizers_[rep].transform(texts), dtype=np.float32)

    def _neighbour_similarities(self, vectors: np.ndarray | sp.csr_matrix, rep: str) -> sp.csr_matrix:
        """Cosine with the ``neighbours`` most similar catalog papers (positive similarities only), one row per
        new paper."""
        warm = self.item_vectors_[rep]
        k = min(int(self.neighbours), self.n_items_)
        rows, cols, vals = [], [], []
        n = vectors.shape[0]
        for lo in range(0, n, _ROW_BLOCK):
            if sp.issparse(warm):
                # the catalog's rows against the block's columns: ``block @ warm.T`` would convert the whole
                # catalog's transpose on every call (1.5 s a space at a million papers, for any block size)
                block = np.asarray((warm @ vectors[lo : lo + _ROW_BLOCK].T).T.todense(), dtype=np.float32)
            else:
                block = np.asarray(vectors[lo : lo + _ROW_BLOCK] @ warm.T, dtype=np.float32)
            top = np.argpartition(-block, k - 1, axis=1)[:, :k] if k < block.shape[1] else None
            if top is None:
                top = np.tile(np.arange(block.shape[1]), (block.shape[0], 1))
            val = np.take_along_axis(block, top, axis=1)
            keep = val > 0
            rows.append(np.nonzero(keep)[0] + lo)
            cols.append(top[keep])
            vals.append(val[keep])
        if not rows:
            return sp.csr_matrix((0, self.n_items_), dtype=np.float32)
        return sp.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, self.n_items_)
        )

    def _mapped_factors(self, sims: sp.csr_matrix, power: float) -> np.ndarray:
        if self.item_factors_ is None:
            return np.zeros((sims.shape[0], 1), dtype=np.float32)
        w = sims.copy()
        w.data = w.data**power
        # the weighted mean's scale is irrelevant: rows are normalised, the score is a cosine
        return _unit_rows(np.asarray(w @ self.item_factors_, dtype=np.float32))

    def _reader_weights(self, sims: sp.csr_matrix, power: float) -> sp.csr_matrix:
        w = sims.copy()
        w.data = w.data**power
        total = np.asarray(w.sum(axis=1)).ravel()
        scale = np.where(total > 0, 1.0 / np.sqrt(np.maximum(total, 1e-12)), 0.0).astype(np.float32)
        return sp.csr_matrix(sp.diags(scale) @ w, dtype=np.float32)

    # ------------------------------------------------------------------ scoring
    def score(
        self,
        user_items: sp.spmatrix,
        user_factors: np.ndarray | None,
        new: NewPapers,
    ) -> dict[str, np.ndarray]:
        """Scores (readers x new papers) of every component and of their ``blend``.

        ``user_items``: readers x catalog papers, positive entries = papers in their history (CSR);
        ``user_factors``: their folded-in ALS factors (None without CF: ``cf`` components score 0). A reader with
        no history gets zeros.
        """
        self._check_fitted()
        user_items = _check_rows(user_items, self.n_items_)
        n_users = user_items.shape[0]
        if user_factors is not None:
            user_factors = np.asarray(user_factors, dtype=np.float32)
            if user_factors.ndim != 2 or user_factors.shape[0] != n_users:
                raise ValueError(f"user_factors must have {n_users} rows, got shape {user_factors.shape}")
        history = (user_items > 0).astype(np.float32)
        out: dict[str, np.ndarray] = {}
        blend = np.zeros((n_users, new.n), dtype=np.float32)
        for kind, rep, _, weight in self.components_:
            name = component_name(kind, rep)
            part = new.parts[name]
            if kind == "readers":
                s = np.asarray((history @ part.T).todense(), dtype=np.float32)
            elif user_factors is None or self.item_factors_ is None:
                s = np.zeros((n_users, new.n), dtype=np.float32)
            else:
                s = user_factors @ np.asarray(part).T
            out[name] = s
            blend += weight * _max_scaled(s)
        out["blend"] = blend
        return out


def _max_scaled(s: np.ndarray) -> np.ndarray:
    """Each row divided by its largest absolute value (rows of zeros stay zeros)."""
    m = np.abs(s).max(axis=1, keepdims=True) if s.shape[1] else np.zeros((s.shape[0], 1))
    return s / np.where(m > 0, m, 1.0)


def _unit_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"expected a 2-D array of vectors, got shape {x.shape}")
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def _check_rows(user_items: sp.spmatrix, n_items: int) -> sp.csr_matrix:
    if not sp.issparse(user_items):
        raise ValueError(f"user_items must be a scipy sparse matrix (readers x catalog papers), got {type(user_items)}")
    m = sp.csr_matrix(user_items, dtype=np.float32)
    if m.shape[1] != n_items:
        raise ValueError(f"user_items has {m.shape[1]} columns, the catalog {n_items} papers")
    return m


__all__: list[str] = [
    "ColdStartScorer",
    "NewPapers",
    "PackagedMiniLM",
    "catalog_text",
    "component_name",
    "embedding_available",
    "new_paper_text",
    "TEXT_COMPONENTS",
    "EMBEDDING_COMPONENTS",
]
