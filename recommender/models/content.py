"""Content model: TF-IDF over title + abstract + keywords (+ citation links), L2-normalised item vectors, user
text profiles."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from recommender.models.base import Estimator
from recommender.models.collaborative import positions_in_sorted, top_n_indices

log = logging.getLogger(__name__)


# Keywords are appended after KEYWORDS_MARK and separated by KEYWORD_SEP (both non-word characters, so the
# plain word analyzer sees exactly "title . abstract kw1 kw2 ..."), which lets the text model also read each
# keyword as one token (``keyword_tokens``). Citation links come last, after LINKS_MARK, and never reach the
# word analyzer: each becomes one ``ref:<paper key>`` token.
KEYWORDS_MARK = "\x1e"
KEYWORD_SEP = "\x1f"
LINKS_MARK = "\x1d"
KEYWORD_PREFIX = "kw:"
LINK_PREFIX = "ref:"
# a link token shared by fewer papers than this connects nothing (see TextModel._drop_lonely_links)
MIN_LINK_DF = 2


_MARKS = str.maketrans({KEYWORDS_MARK: " ", KEYWORD_SEP: " ", LINKS_MARK: " "})


def _clean_parts(values: Sequence[str], *, inner: str) -> list[str]:
    """Each value with its whitespace runs (and any mark character) joined by ``inner``; empty ones dropped."""
    parts = (inner.join(str(v).translate(_MARKS).split()) for v in values or ())
    return [p for p in parts if p]


def doc_text(title: str, abstract: str = "", keywords: Sequence[str] = (), links: Sequence[str] = ()) -> str:
    """The text a paper is represented by: title . abstract, then the keywords after a separator, then its
    citation ``links`` (paper keys: the paper's own key and the keys of the papers it cites) after another."""
    text = " . ".join(part for part in (title or "", abstract or "") if part)
    kws = _clean_parts(keywords, inner=" ")
    if kws:
        text += " . " + KEYWORDS_MARK + KEYWORD_SEP.join(kws)
    refs = _clean_parts(links, inner="")
    if refs:
        text += LINKS_MARK + KEYWORD_SEP.join(refs)
    return text


def link_token(key: str) -> str:
    """The token a citation link to (or the own key of) paper ``key`` becomes."""
    return LINK_PREFIX + "".join(str(key).split())


def display_term(term: str) -> str | None:
    """A vocabulary term as a reader should see it (``kw:machine_learning`` -> ``machine learning``), or None
    for terms that are not words (citation links)."""
    if term.startswith(LINK_PREFIX):
        return None
    if term.startswith(KEYWORD_PREFIX):
        return term[len(KEYWORD_PREFIX) :].replace("_", " ")
    return term


def _keyword_token(keyword: str) -> str:
    return KEYWORD_PREFIX + "_".join(re.findall(r"\w+", keyword.lower()))


class TextModel(Estimator):
    """TF-IDF text model (sublinear tf, 1..``ngram_max``-grams, English stop words).

    With ``keyword_tokens``, each keyword of a paper (the part of :func:`doc_text` after the keyword mark)
    also becomes one whole token (``kw:machine_learning``) besides its words, so a multi-word tag matches only
    the same tag; keyword words are not joined into n-grams with the title or abstract.

    Citation links (the part of :func:`doc_text` after the links mark: the paper's own key and the keys it
    cites) become one ``ref:<key>`` token each, so two papers share a token when one cites the other or both
    cite the same paper (bibliographic coupling); their TF-IDF weights are multiplied by ``link_weight``
    (0 = ignore links) before each row is L2-normalised. A link token held by a single paper links nothing and is
    left out whatever ``min_df`` is.

    ``item_vectors_`` (CSR, n_items x vocabulary, rows L2-normalised) is computed once in :meth:`fit`; papers
    added later are scored through :meth:`transform`. ``item_terms_``, when set (:meth:`with_inverted_index`),
    is its transpose: :meth:`top_n` then reads only the postings of the profile's terms (the same scores).

    ``specificity`` (an exponent, 0 = off) multiplies every profile score by
    ``(2 h̄ / (h̄ + h_i)) ** specificity``, where ``h_i`` is the paper's cosine with the catalog centroid (its mean
    similarity to the whole catalog) and ``h̄`` the catalog mean of ``h_i``. Papers written in the catalog's
    common vocabulary are similar to almost any profile; the weight stops them from crowding out papers specific
    to the user's topics. It is a ratio, so it means the same for a 60-paper demo catalog and a million papers,
    and it never changes a score's sign.
    """

    section = "text"
    # above this share of the catalog's non-zeros (profiles of very common words), the plain mat-vec is cheaper
    inverted_max_share: ClassVar[float] = 0.25
    fitted_attribute = "vectorizer_"
    max_features: int | None
    min_df: int | float
    max_df: int | float
    ngram_max: int
    dismiss_push: float
    keyword_tokens: bool
    specificity: float
    link_weight: float

    def _word_analyzer(self) -> Callable[[str], list[str]]:
        return TfidfVectorizer(ngram_range=(1, int(self.ngram_max)), stop_words="english").build_analyzer()

    def _analyzer(self) -> Callable[[str], list[str]]:
        """Words (n-grams, stop words removed) of title and abstract; with ``keyword_tokens`` each keyword's
        words and the keyword as one token, otherwise keywords as more words; each citation link as one token."""
        words = self._word_analyzer()
        unigrams = TfidfVectorizer(stop_words="english").build_analyzer()
        keyword_tokens = bool(self.keyword_tokens)

        def analyze(text: str) -> list[str]:
            text, _, links = text.partition(LINKS_MARK)
            if keyword_tokens:
                body, _, kw = text.partition(KEYWORDS_MARK)
                tokens = words(body)
                for k in kw.split(KEYWORD_SEP):
                    if k.strip():
                        tokens.extend(unigrams(k))
                        tokens.append(_keyword_token(k))
            else:
                tokens = words(text)
            tokens.extend(link_token(k) for k in dict.fromkeys(links.split(KEYWORD_SEP)) if k.strip())
            return tokens

        return analyze

    def _vectorizer(self, vocabulary: dict[str, int] | None = None) -> TfidfVectorizer:
        # rows are L2-normalised by this class after the link columns are weighted (norm=None here)
        return TfidfVectorizer(
            sublinear_tf=True,
            analyzer=self._analyzer(),
            max_features=self.max_features,
            min_df=self.min_df,
            max_df=self.max_df,
            norm=None,
            dtype=np.float32,
            vocabulary=vocabulary,
        )

    def _drop_lonely_links(
        self, vectorizer: TfidfVectorizer, vectors: sp.csr_matrix
    ) -> tuple[TfidfVectorizer, sp.csr_matrix]:
        """Leave out link tokens that fewer than MIN_LINK_DF papers hold: every paper names its own key, so a
        paper nobody cites would otherwise get a token of its own that only dilutes its words."""
        terms = vectorizer.get_feature_names_out().astype(str)
        is_link = np.char.startswith(terms, LINK_PREFIX)
        if not is_link.any():
            return vectorizer, vectors
        df = np.bincount(vectors.indices, minlength=len(terms))  # CSR indices are columns
        keep = np.flatnonzero(~is_link | (df >= MIN_LINK_DF))
        if len(keep) == len(terms):
            return vectorizer, vectors
        # a vectorizer with the smaller vocabulary fixed, as a stored model is rebuilt (from_arrays)
        kept = self._vectorizer(vocabulary={terms[j]: i for i, j in enumerate(keep)})
        kept.idf_ = np.asarray(vectorizer.idf_)[keep]
        return kept, sp.csr_matrix(vectors[:, keep])

    def _link_columns(self) -> np.ndarray:
        terms = self.vectorizer_.get_feature_names_out().astype(str)
        return np.flatnonzero(np.char.startswith(terms, LINK_PREFIX))

    def _finish(self, vectors: sp.spmatrix) -> sp.csr_matrix:
        """Weigh the link columns, then L2-normalise each row."""
        vectors = sp.csr_matrix(vectors, dtype=np.float32)
        if float(self.link_weight) != 1.0 and len(self._link_cols):
            scale = np.ones(vectors.shape[1], dtype=np.float32)
            scale[self._link_cols] = float(self.link_weight)
            vectors = sp.csr_matrix(vectors @ sp.diags(scale), dtype=np.float32)
            vectors.eliminate_zeros()
        return normalize(vectors, copy=False)

    def fit(self, texts: Sequence[str]) -> TextModel:
        """Learn the vocabulary and idf from ``texts`` (one per catalog item) and vectorise them."""
        if len(texts) == 0:
            raise ValueError("nothing to train on: no documents for the text model")
        if int(self.ngram_max) < 1:
            raise ValueError(f"ngram_max must be >= 1, got {self.ngram_max!r}")
        self._check_link_weight()
        vectorizer = self._vectorizer()
        try:
            vectors = vectorizer.fit_transform(texts)
        except ValueError as exc:  # e.g. only stop words, or min_df too high for a tiny catalog
            if self.min_df == 1:
                raise ValueError(f"text model cannot be fitted: {exc}") from exc
            # a catalog too small for min_df (e.g. a fresh server with a handful of papers): keep every term
            log.warning("text model: min_df=%s left no terms (%s); fitting with min_df=1", self.min_df, exc)
            vectorizer = self._vectorizer()
            vectorizer.set_params(min_df=1, max_df=1.0)
            try:
                vectors = vectorizer.fit_transform(texts)
            except ValueError as exc2:
                raise ValueError(f"text model cannot be fitted: {exc2}") from exc2
        vectorizer, vectors = self._drop_lonely_links(vectorizer, sp.csr_matrix(vectors, dtype=np.float32))
        self.vectorizer_ = vectorizer
        self._link_cols = self._link_columns()
        self._set_vectors(self._finish(vectors))
        log.info(
            "fitted text model: %d docs, %d terms (%d citation links)",
            self.n_items_,
            len(vectorizer.vocabulary_),
            len(self._link_cols),
        )
        return self

    def _check_link_weight(self) -> None:
        if isinstance(self.link_weight, bool) or not isinstance(self.link_weight, int | float) or self.link_weight < 0:
            raise ValueError(f"link_weight must be a number >= 0, got {self.link_weight!r}")

    @classmethod
    def from_arrays(
        cls,
        vocabulary: dict[str, int],
        idf: np.ndarray,
        item_vectors: sp.csr_matrix,
        **params: object,
    ) -> TextModel:
        """Rebuild a fitted model from its stored vocabulary, idf and item vectors (no pickle)."""
        model = cls(**params)  # type: ignore[arg-type]
        model._check_link_weight()
        if len(idf) != len(vocabulary) or item_vectors.shape[1] != len(vocabulary):
            raise ValueError(
                f"inconsistent text model: {len(vocabulary)} terms, {len(idf)} idf values, "
                f"{item_vectors.shape[1]} vector columns"
            )
        vectorizer = model._vectorizer(vocabulary={str(k): int(v) for k, v in vocabulary.items()})
        vectorizer.idf_ = np.asarray(idf, dtype=np.float64)
        model.vectorizer_ = vectorizer
        model._link_cols = model._link_columns()
        model._set_vectors(sp.csr_matrix(item_vectors, dtype=np.float32))
        return model

    def _set_vectors(self, item_vectors: sp.csr_matrix) -> None:
        if not self.specificity >= 0:
            raise ValueError(f"specificity must be >= 0, got {self.specificity!r}")
        self.item_vectors_ = item_vectors
        self.item_terms_: sp.csr_matrix | None = None
        self.n_items_ = item_vectors.shape[0]
        # derived from the item vectors, so a stored model needs no extra arrays
        self.centroid_ = np.asarray(item_vectors.mean(axis=0), dtype=np.float32).ravel()
        self.mean_centroid_similarity_ = float(np.mean(item_vectors @ self.centroid_)) if self.n_items_ else 0.0
        self.item_weights_ = self.specificity_weights(item_vectors)

    def specificity_weights(self, vectors: sp.spmatrix) -> np.ndarray:
        """The ``specificity`` weight of each row of ``vectors`` (catalog papers or papers added later)."""
        n = vectors.shape[0]
        mean = self.mean_centroid_similarity_
        if not self.specificity or mean <= 0:
            return np.ones(n, dtype=np.float32)
        h = np.maximum(np.asarray(vectors @ self.centroid_, dtype=np.float64).ravel(), 0.0)
        return ((2.0 * mean / (mean + h)) ** float(self.specificity)).astype(np.float32)

    @property
    def vocabulary(self) -> dict[str, int]:
        self._check_fitted()
        return {str(k): int(v) for k, v in self.vectorizer_.vocabulary_.items()}

    @property
    def idf(self) -> np.ndarray:
        self._check_fitted()
        return np.asarray(self.vectorizer_.idf_, dtype=np.float64)

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """L2-normalised vectors for new documents (rows of zeros for documents with no known term)."""
        self._check_fitted()
        return self._finish(self.vectorizer_.transform(list(texts)))

    def link_column(self, key: str) -> int:
        """The vocabulary column of the citation link to paper ``key`` (-1 when no two papers share it)."""
        self._check_fitted()
        return int(self.vectorizer_.vocabulary_.get(link_token(key), -1))

    def profile(
        self,
        vectors: sp.spmatrix,
        weights: np.ndarray,
        *,
        negative: sp.spmatrix | None = None,
        negative_weights: np.ndarray | None = None,
    ) -> sp.csr_matrix | None:
        """A user's text profile: weighted mean of ``vectors`` minus ``dismiss_push`` x mean of ``negative``.

        Weights already carry event type and time decay. Returns a 1 x V L2-normalised row, or None when
        there is no positive signal.
        """
        weights = np.asarray(weights, dtype=np.float64)
        if vectors.shape[0] != len(weights):
            raise ValueError(f"{vectors.shape[0]} vectors but {len(weights)} weights")
        if vectors.shape[0] == 0 or weights.sum() <= 0:
            return None
        pos = sp.csr_matrix(weights[None, :] @ vectors) / weights.sum()
        if negative is not None and negative.shape[0] and self.dismiss_push:
            nw = np.ones(negative.shape[0]) if negative_weights is None else np.asarray(negative_weights, float)
            if nw.sum() > 0:
                pos = pos - float(self.dismiss_push) * sp.csr_matrix(nw[None, :] @ negative) / nw.sum()
        pos = sp.csr_matrix(pos, dtype=np.float32)
        if pos.nnz == 0 or not np.any(pos.data > 0):
            return None
        return normalize(pos, copy=False)

    def score_rows(self, user_items: sp.spmatrix) -> np.ndarray:
        """:meth:`catalog_scores` for users given as rows of a users x items confidence matrix (dense
        ``n_users x n_items``): each row's :meth:`profile` (without dismissals) against every item.

        Profiles are not renormalised, which leaves each user's ranking unchanged.
        """
        self._check_fitted()
        rows = normalize(sp.csr_matrix(user_items, dtype=np.float32), norm="l1")
        # dense profiles against the sparse item rows: the result is dense anyway, and this product is several
        # times faster than sparse times sparse (the same sums, in another order)
        profiles = np.asarray((rows @ self.item_vectors_).todense(), dtype=np.float32)
        scores = np.asarray(self.item_vectors_ @ profiles.T, dtype=np.float32).T
        return scores * self.item_weights_[None, :]

    def catalog_scores(self, profile: sp.spmatrix) -> np.ndarray:
        """Cosine of every catalog item with ``profile`` times the item's ``specificity`` weight."""
        self._check_fitted()
        return (self.item_vectors_ @ np.asarray(profile.todense()).ravel()) * self.item_weights_

    def top_n(
        self, profile: sp.spmatrix, n: int, *, exclude: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``n`` catalog item indices and cosine scores for a profile (or any 1 x V vector)."""
        profile = sp.csr_matrix(profile, dtype=np.float32)
        if self.item_terms_ is not None and self._postings_share(profile) <= self.inverted_max_share:
            # only papers sharing a term with the profile can score above 0; over real profiles their postings
            # were a small share of the catalog's (median 7.5% on citeulike-a), so this reads a fraction of it
            row = profile @ self.item_terms_
            row.sort_indices()  # ties then break by catalog index, as over the whole catalog
            touched = row.indices.astype(np.int64)
            skip = positions_in_sorted(touched, exclude)
            idx, sc = top_n_indices(row.data * self.item_weights_[touched], n, skip)
            keep = sc > 0
            return touched[idx[keep]], sc[keep]
        scores = self.catalog_scores(profile)
        idx, sc = top_n_indices(scores, n, exclude)
        keep = sc > 0
        return idx[keep], sc[keep]

    def _postings_share(self, profile: sp.csr_matrix) -> float:
        """The share of the catalog's non-zeros that the inverted index would read for ``profile``."""
        ptr = self.item_terms_.indptr
        return float(np.sum(ptr[profile.indices + 1] - ptr[profile.indices])) / max(1, int(ptr[-1]))

    def with_inverted_index(self, item_terms: sp.spmatrix | None = None) -> TextModel:
        """Keep the transposed item vectors (``item_terms_``, terms x items; computed when not given, e.g. when
        loaded from a store) so that :meth:`top_n` reads only the profile's postings. Returns this model."""
        self._check_fitted()
        terms = self.item_vectors_.T if item_terms is None else item_terms
        terms = sp.csr_matrix(terms, dtype=np.float32)
        if terms.shape != self.item_vectors_.shape[::-1]:
            raise ValueError(f"item_terms has shape {terms.shape}, expected {self.item_vectors_.shape[::-1]}")
        self.item_terms_ = terms
        return self

    def vectors(self, items: np.ndarray) -> sp.csr_matrix:
        self._check_fitted()
        return self.item_vectors_[np.asarray(items, dtype=np.int64)]
