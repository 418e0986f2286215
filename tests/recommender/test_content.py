import numpy as np
import pytest
from synthetic_papers import make_papers

from recommender.content import TextModel


@pytest.fixture(scope="module")
def text():
    return TextModel(max_features=5000).fit([p.text for p in make_papers()])


def keys():
    return [p.key for p in make_papers()]


def test_item_vectors_are_l2_normalised_sparse(text):
    norms = np.sqrt(np.asarray(text.item_vectors_.multiply(text.item_vectors_).sum(axis=1)).ravel())
    np.testing.assert_allclose(norms, 1.0, rtol=1e-5)
    assert text.item_vectors_.format == "csr"


def test_profile_ranks_similar_titles_first(text):
    k = keys()
    saved = np.array([k.index("g0"), k.index("g3")])
    profile = text.profile(text.vectors(saved), np.array([1.0, 1.0]))
    top, scores = text.top_n(profile, 6, exclude=saved)
    assert all(k[i].startswith("g") for i in top)
    assert np.all(np.diff(scores) <= 0)


def test_dismissal_pushes_profile_away(text):
    k = keys()
    saved = text.vectors(np.array([k.index("g5")]))  # "graph transformers for molecular graph property ..."
    near = text.vectors(np.array([k.index("g0")]))
    plain = text.profile(saved, np.array([1.0]))
    pushed = text.profile(saved, np.array([1.0]), negative=near)
    assert (near @ pushed.T).toarray()[0, 0] < (near @ plain.T).toarray()[0, 0]


def test_transform_new_document_and_round_trip(text):
    new = text.transform(["Protein folding with language models"])
    top, _ = text.top_n(new, 3)
    assert all(keys()[i].startswith("p") for i in top)
    again = TextModel.from_arrays(text.vocabulary, text.idf, text.item_vectors_, **text.get_params())
    diff = again.transform(["Protein folding with language models"]) - new
    assert abs(diff).max() < 1e-6
    assert text.transform(["zzzz qqqq"]).nnz == 0


def test_errors():
    with pytest.raises(ValueError, match="nothing to train on"):
        TextModel().fit([])
    with pytest.raises(ValueError, match="cannot be fitted"):
        TextModel().fit(["the and of", "a an the"])
    with pytest.raises(ValueError, match="not fitted"):
        TextModel().transform(["x"])
    with pytest.raises(ValueError, match="inconsistent"):
        TextModel.from_arrays({"a": 0}, np.ones(2), TextModel().fit(["alpha beta"]).item_vectors_)
