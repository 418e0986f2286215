import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from recommender import char_ngrams

WORDS = ["Graph", "network's", "naïve", "α-helix", "x", "ab", "Protein\tfolding", "deep-learning", "GPU", "of", "ÉCOLE"]


def corpus(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, rng.integers(0, 25))) + "  end.\nNew  line" for _ in range(n)] + [""]


@pytest.mark.parametrize(
    "params",
    [
        {"ngram_range": (3, 5), "sublinear_tf": True, "min_df": 2, "dtype": np.float32},
        {"ngram_range": (2, 4), "min_df": 0.05, "max_df": 0.9},
        {"ngram_range": (1, 3), "norm": None, "smooth_idf": False},
    ],
)
def test_per_word_counting_equals_sklearn(params):
    texts = corpus(400)
    plain, ours = TfidfVectorizer(analyzer="char_wb", **params), TfidfVectorizer(analyzer="char_wb", **params)
    expected = plain.fit_transform(texts)
    got = char_ngrams.fit_transform(ours, texts)
    assert ours.vocabulary_ == plain.vocabulary_
    np.testing.assert_allclose(ours.idf_, plain.idf_)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert abs(got - expected).max() == pytest.approx(0.0, abs=1e-6)
    new = ["graph networks of GPU", "zzz unseen", ""]
    assert abs(ours.transform(new) - plain.transform(new)).max() == pytest.approx(0.0, abs=1e-6)


def test_other_settings_fall_back_and_errors_match():
    texts = corpus(50)
    words = TfidfVectorizer(ngram_range=(1, 2))
    assert not char_ngrams.supported(words)
    assert char_ngrams.fit_transform(words, texts).shape[0] == len(texts)
    for params in ({"min_df": 10_000}, {"min_df": 5, "max_df": 2}, {"min_df": 49, "max_df": 49}):
        with pytest.raises(ValueError) as plain:
            TfidfVectorizer(analyzer="char_wb", **params).fit_transform(texts)
        with pytest.raises(ValueError, match=str(plain.value).split(".")[0]):
            char_ngrams.fit_transform(TfidfVectorizer(analyzer="char_wb", **params), texts)
