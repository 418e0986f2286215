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


def test_doc_text_keeps_plain_words_and_marks_keywords():
    from recommender.content import KEYWORDS_MARK, doc_text

    text = doc_text("Graph nets", "", ("machine learning", "rr_interval"))
    assert text.split(KEYWORDS_MARK)[0].startswith("Graph nets")
    # the plain word analyzer sees the same words as before the keyword mark existed
    plain = TextModel(ngram_max=1).fit([text, "graph machine"]).vocabulary
    assert {"graph", "nets", "machine", "learning", "rr_interval"} <= set(plain)
    assert not any(t.startswith("kw:") for t in plain)


def test_keyword_tokens_match_whole_keywords_and_survive_a_round_trip():
    from recommender.content import doc_text

    docs = [
        doc_text("Deep nets for images", "", ("machine learning", "vision")),
        doc_text("Learning machines", "", ("machine learning",)),
        doc_text("Machine shop learning", "", ("machine", "learning")),
    ]
    tm = TextModel(keyword_tokens=True).fit(docs)
    vocab = tm.vocabulary
    assert {"kw:machine_learning", "kw:vision", "kw:machine", "machine", "learning"} <= set(vocab)
    sims = (tm.item_vectors_ @ tm.item_vectors_.T).toarray()
    assert sims[1, 0] > 0 and "kw:machine_learning" in vocab
    again = TextModel.from_arrays(vocab, tm.idf, tm.item_vectors_, **tm.get_params())
    new = doc_text("A new paper", "", ("machine learning",))
    assert abs(again.transform([new]) - tm.transform([new])).max() < 1e-6
    assert tm.transform([new])[0, vocab["kw:machine_learning"]] > 0


def test_min_df_falls_back_to_every_term_on_a_tiny_catalog():
    tm = TextModel(min_df=2, keyword_tokens=True).fit(["Graph neural networks"])
    assert "graph" in tm.vocabulary
    assert TextModel(min_df=2).fit(["graph nets", "graph trees"]).vocabulary.keys() == {"graph"}
