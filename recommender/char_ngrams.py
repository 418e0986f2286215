"""Character n-gram TF-IDF counted once per distinct word instead of once per word occurrence.

scikit-learn's ``char_wb`` analyzer cuts each whitespace-separated word (padded with one space each side) into
n-grams on its own, so a document's n-gram counts are the sum, over its words, of the word's count times that
word's n-grams. A catalog repeats the same words over and over: counting the n-grams of each distinct word once
and multiplying the document x word counts by the word x n-gram counts gives the same count matrix, and the
same TF-IDF, at a fraction of the cost (the cold-start scorer's ``chars`` space was the slowest stage of a
retrain).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer, TfidfVectorizer


def _words(text: str) -> list[str]:
    # the char_wb analyzer's own steps: lowercase, then split on whitespace
    return text.lower().split()


def supported(vectorizer: TfidfVectorizer) -> bool:
    """Whether :func:`fit_transform` reproduces ``vectorizer.fit_transform`` exactly for its settings."""
    p = vectorizer.get_params()
    return (
        p["analyzer"] == "char_wb"
        and p["input"] == "content"
        and p["lowercase"]
        and p["preprocessor"] is None
        and p["strip_accents"] is None
        and p["max_features"] is None
        and p["vocabulary"] is None
        and p["use_idf"]
        and not p["binary"]
    )


def fit_transform(vectorizer: TfidfVectorizer, texts: Sequence[str]) -> sp.csr_matrix:
    """``vectorizer.fit_transform(texts)`` (``vectorizer`` ends up fitted the same way) for a ``char_wb``
    vectorizer; any other falls back to its own ``fit_transform``."""
    if not supported(vectorizer):
        return vectorizer.fit_transform(texts)
    by_word = CountVectorizer(analyzer=_words, dtype=np.int64)
    doc_words = by_word.fit_transform(texts)
    words = by_word.get_feature_names_out().tolist()
    low, high = vectorizer.ngram_range
    grams = CountVectorizer(analyzer="char_wb", ngram_range=(low, high), lowercase=False, dtype=np.int64)
    word_grams = grams.fit_transform(words) if words else sp.csr_matrix((0, 0), dtype=np.int64)
    terms = grams.get_feature_names_out() if words else np.zeros(0, dtype=object)
    counts = sp.csr_matrix(doc_words @ word_grams)
    counts.sort_indices()
    keep = _kept_columns(vectorizer, counts, len(texts))
    counts = sp.csr_matrix(counts[:, keep], dtype=vectorizer.dtype)
    tfidf = TfidfTransformer(
        norm=vectorizer.norm,
        use_idf=vectorizer.use_idf,
        smooth_idf=vectorizer.smooth_idf,
        sublinear_tf=vectorizer.sublinear_tf,
    )
    out = tfidf.fit_transform(counts)
    # a vectorizer with the vocabulary fixed and the idf set, as a stored scorer is rebuilt (from_arrays)
    vectorizer.set_params(vocabulary={str(terms[j]): i for i, j in enumerate(keep.tolist())})
    vectorizer.idf_ = tfidf.idf_
    return sp.csr_matrix(out)


def _kept_columns(vectorizer: TfidfVectorizer, counts: sp.csr_matrix, n_docs: int) -> np.ndarray:
    """The n-gram columns within ``min_df`` / ``max_df`` (scikit-learn's rules and errors)."""
    min_df, max_df = vectorizer.min_df, vectorizer.max_df
    max_count = max_df if isinstance(max_df, int | np.integer) else max_df * n_docs
    min_count = min_df if isinstance(min_df, int | np.integer) else min_df * n_docs
    if max_count < min_count:
        raise ValueError("max_df corresponds to < documents than min_df")
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    keep = np.flatnonzero((df >= min_count) & (df <= max_count))
    if counts.shape[1] == 0:
        raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
    if len(keep) == 0:
        raise ValueError("After pruning, no terms remain. Try a lower min_df or a higher max_df.")
    return keep
