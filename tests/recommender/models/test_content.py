import numpy as np
import pytest
import scipy.sparse as sp
from synthetic_papers import make_papers

from recommender.models.content import TextModel

# The hyper-parameters these tests were written against (the packaged config's are the defaults now).
BASE_PARAMS = {"min_df": 1, "keyword_tokens": False, "specificity": 0.0, "link_weight": 1.0}


def make_model(**params):
    return TextModel(**{**BASE_PARAMS, **params})


@pytest.fixture(scope="module")
def text():
    return make_model(max_features=5000).fit([p.text for p in make_papers()])


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
        make_model().fit([])
    with pytest.raises(ValueError, match="cannot be fitted"):
        make_model().fit(["the and of", "a an the"])
    with pytest.raises(ValueError, match="not fitted"):
        make_model().transform(["x"])
    with pytest.raises(ValueError, match="inconsistent"):
        TextModel.from_arrays({"a": 0}, np.ones(2), make_model().fit(["alpha beta"]).item_vectors_)


def test_doc_text_keeps_plain_words_and_marks_keywords():
    from recommender.models.content import KEYWORDS_MARK, doc_text

    text = doc_text("Graph nets", "", ("machine learning", "rr_interval"))
    assert text.split(KEYWORDS_MARK)[0].startswith("Graph nets")
    # the plain word analyzer sees the same words as before the keyword mark existed
    plain = make_model(ngram_max=1).fit([text, "graph machine"]).vocabulary
    assert {"graph", "nets", "machine", "learning", "rr_interval"} <= set(plain)
    assert not any(t.startswith("kw:") for t in plain)


def test_keyword_tokens_match_whole_keywords_and_survive_a_round_trip():
    from recommender.models.content import doc_text

    docs = [
        doc_text("Deep nets for images", "", ("machine learning", "vision")),
        doc_text("Learning machines", "", ("machine learning",)),
        doc_text("Machine shop learning", "", ("machine", "learning")),
    ]
    tm = make_model(keyword_tokens=True).fit(docs)
    vocab = tm.vocabulary
    assert {"kw:machine_learning", "kw:vision", "kw:machine", "machine", "learning"} <= set(vocab)
    sims = (tm.item_vectors_ @ tm.item_vectors_.T).toarray()
    assert sims[1, 0] > 0 and "kw:machine_learning" in vocab
    again = TextModel.from_arrays(vocab, tm.idf, tm.item_vectors_, **tm.get_params())
    new = doc_text("A new paper", "", ("machine learning",))
    assert abs(again.transform([new]) - tm.transform([new])).max() < 1e-6
    assert tm.transform([new])[0, vocab["kw:machine_learning"]] > 0


def test_min_df_falls_back_to_every_term_on_a_tiny_catalog():
    tm = make_model(min_df=2, keyword_tokens=True).fit(["Graph neural networks"])
    assert "graph" in tm.vocabulary
    assert make_model(min_df=2).fit(["graph nets", "graph trees"]).vocabulary.keys() == {"graph"}


GENERIC_DOCS = [
    "a new method for learning representations",  # shares words with every paper below: near the centroid
    "graph neural networks for molecule property prediction learning",
    "graph attention networks for citation graphs learning",
    "message passing graph networks on molecules method",
    "protein folding with deep learning method",
    "protein structure prediction from sequences learning",
    "language models are few shot learners new method",
    "instruction tuning of language models representations",
]


def test_specificity_moves_generic_papers_down_and_zero_keeps_plain_cosines():
    plain = make_model(min_df=1).fit(GENERIC_DOCS)
    specific = make_model(min_df=1, specificity=1.0).fit(GENERIC_DOCS)
    np.testing.assert_allclose(plain.item_weights_, 1.0)
    h = specific.item_vectors_ @ specific.centroid_
    np.testing.assert_allclose(specific.item_weights_, 2 * h.mean() / (h.mean() + h), rtol=1e-5)
    assert np.argmin(specific.item_weights_) == 0  # the generic paper is the closest to the centroid
    saved = np.array([1, 2])  # two graph papers
    scores = {}
    for name, tm in (("plain", plain), ("specific", specific)):
        scores[name] = tm.catalog_scores(tm.profile(tm.vectors(saved), np.ones(2)))
        assert np.all(scores[name] >= 0)  # a weight, never a sign flip
        assert np.argmax(np.where(np.isin(np.arange(8), saved), -1, scores[name])) == 3  # the other graph paper
    # the generic paper loses ground against the specific graph paper
    assert scores["specific"][0] / scores["specific"][3] < 0.95 * scores["plain"][0] / scores["plain"][3]


def test_specificity_keeps_results_on_a_tiny_homogeneous_catalog():
    docs = ["deep learning for images", "deep learning for text", "deep learning for audio", "deep learning"]
    tm = make_model(min_df=1, specificity=1.5).fit(docs)
    top, scores = tm.top_n(tm.profile(tm.vectors(np.array([0])), np.ones(1)), 3, exclude=np.array([0]))
    assert len(top) == 3 and np.all(scores > 0)


def test_score_rows_ranks_like_the_request_profile():
    tm = make_model(min_df=1, specificity=1.5).fit(GENERIC_DOCS)
    rows = sp.csr_matrix(np.array([[0, 8, 8, 0, 0, 0, 0, 0], [0, 0, 0, 0, 2, 0, 0, 1]], dtype=np.float32))
    batch = tm.score_rows(rows)
    assert batch.shape == (2, len(GENERIC_DOCS))
    for r in range(2):
        profile = tm.profile(tm.vectors(rows[r].indices), rows[r].data)
        single = tm.catalog_scores(profile)
        # the request profile is the batch row's profile L2-normalised: the same scores up to one factor
        best = int(np.argmax(batch[r]))
        np.testing.assert_allclose(single * (batch[r][best] / single[best]), batch[r], rtol=1e-4, atol=1e-6)
        assert list(np.argsort(-single, kind="stable")) == list(np.argsort(-batch[r], kind="stable"))


def test_specificity_survives_a_round_trip_and_is_checked():
    tm = make_model(min_df=1, specificity=1.0).fit(GENERIC_DOCS)
    again = TextModel.from_arrays(tm.vocabulary, tm.idf, tm.item_vectors_, **tm.get_params())
    assert again.specificity == 1.0
    np.testing.assert_allclose(again.item_weights_, tm.item_weights_)
    new = tm.transform(["graph networks for molecules"])
    assert tm.specificity_weights(new).shape == (1,)
    with pytest.raises(ValueError, match="specificity"):
        make_model(specificity=-1.0).fit(GENERIC_DOCS)
