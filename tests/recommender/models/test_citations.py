"""Citation links as item side information: shared ``ref:`` tokens in the text model, "Cites" / "Cited by"
reasons, and a stored model that keeps them."""

from dataclasses import replace

import numpy as np
import pytest
from synthetic_papers import NOW, TEST_CONFIG, make_interactions, make_papers

from recommender import store
from recommender.models.content import TextModel, display_term, doc_text, link_token
from recommender.offline.training import train
from recommender.serving import HistoryEvent, PaperDoc

# The hyper-parameters these tests were written against (the packaged config's are the defaults now).
BASE_PARAMS = {"min_df": 1, "keyword_tokens": False, "specificity": 0.0, "link_weight": 1.0}


def make_model(**params):
    return TextModel(**{**BASE_PARAMS, **params})


# g4 cites g0; g0 cites g8; p2 (a protein paper) cites g0 too
REFERENCES = {"g4": ("g0",), "g0": ("g8",), "p2": ("g0",)}


def cited_papers() -> list[PaperDoc]:
    return [replace(p, references=REFERENCES.get(p.key, ())) for p in make_papers()]


@pytest.fixture(scope="module")
def cited_model():
    return train(cited_papers(), make_interactions(), config=TEST_CONFIG, now=NOW).model


def cosine(model: TextModel, a: int, b: int) -> float:
    return float((model.item_vectors_[a] @ model.item_vectors_[b].T).toarray()[0, 0])


def test_a_citation_links_papers_without_a_word_in_common():
    docs = [
        doc_text("Spectral clustering of sparse graphs", links=("a", "c")),
        doc_text("Enzyme kinetics in yeast", links=("b", "a")),  # b cites a
        doc_text("Quantum error correction", links=("c",)),  # cited by a
        doc_text("Nobody cites this one", links=("d",)),
    ]
    text = make_model(min_df=1).fit(docs)
    assert cosine(text, 0, 1) > 0 and cosine(text, 0, 2) > 0
    assert cosine(text, 1, 2) == 0.0
    # a link only one paper holds links nothing: it is left out even with min_df=1
    assert text.link_column("d") == -1 and text.link_column("b") == -1
    assert text.link_column("a") >= 0
    assert {t for t in text.vocabulary if t.startswith("ref:")} == {link_token("a"), link_token("c")}
    # link_weight 0 ignores the links
    assert cosine(make_model(min_df=1, link_weight=0.0).fit(docs), 0, 1) == 0.0
    # a heavier link weight pulls linked papers closer
    assert cosine(make_model(min_df=1, link_weight=3.0).fit(docs), 0, 1) > cosine(text, 0, 1)


def test_links_never_reach_the_word_analyzer():
    docs = [doc_text("Alpha beta", links=("arxiv:2401.00001", "doi:10.1/x")), doc_text("Gamma", links=("doi:10.1/x",))]
    text = make_model(min_df=1, keyword_tokens=False).fit(docs)
    assert "2401" not in text.vocabulary and "arxiv" not in text.vocabulary and "doi" not in text.vocabulary
    assert text.link_column("doi:10.1/x") >= 0
    assert display_term(link_token("doi:10.1/x")) is None
    assert display_term("kw:machine_learning") == "machine learning"
    assert display_term("graph") == "graph"


def test_link_weight_is_validated_and_stored():
    docs = [doc_text("Alpha beta", links=("a", "b")), doc_text("Gamma delta", links=("b",))]
    with pytest.raises(ValueError, match="link_weight"):
        make_model(min_df=1, link_weight=-1).fit(docs)
    text = make_model(min_df=1, link_weight=2.0).fit(docs)
    again = TextModel.from_arrays(text.vocabulary, text.idf, text.item_vectors_, **text.get_params())
    new = [doc_text("Alpha", links=("c", "b"))]
    assert abs(again.transform(new) - text.transform(new)).max() < 1e-6
    assert again.link_column("b") == text.link_column("b") >= 0


def test_recommendations_say_which_saved_paper_cites_or_is_cited_by_them(cited_model):
    title = {p.key: p.title for p in make_papers()}
    recs = cited_model.recommend([HistoryEvent("g0", "save", NOW)], n=24, now=NOW)
    by_key = {r.key: r for r in recs}
    assert f"Cites “{title['g0']}”, which you saved" in by_key["g4"].reasons
    assert f"Cited by “{title['g0']}”, which you saved" in by_key["g8"].reasons
    # the citation replaces the plain "similar to" for the same paper
    assert not any(r.startswith("Similar to “" + title["g0"]) for r in by_key["g4"].reasons)
    # papers with no citation link to the history get no citation reason
    assert not any(r.startswith(("Cites", "Cited by")) for r in by_key["g1"].reasons)
    opened = cited_model.recommend([HistoryEvent("g0", "open", NOW)], n=24, now=NOW)
    g4 = next(r for r in opened if r.key == "g4")
    assert f"Cites “{title['g0']}”, which you opened" in g4.reasons


def test_a_citation_brings_a_paper_of_another_field_closer(cited_model, model):
    # p2 cites g0: a reader of g0 sees it ranked higher than without the link
    def rank(m):
        keys = [r.key for r in m.recommend([HistoryEvent("g0", "save", NOW)], n=24, now=NOW)]
        return keys.index("p2")

    assert rank(cited_model) < rank(model)


def test_papers_added_after_training_carry_their_links(cited_model):
    title = {p.key: p.title for p in make_papers()}
    new = PaperDoc("arxiv:2402.00001", "Unrelated words entirely", "nothing in common", references=("g0",))
    recs = cited_model.recommend([HistoryEvent("g0", "save", NOW)], n=30, extra_docs=[new], now=NOW)
    rec = next(r for r in recs if r.key == new.key)
    assert f"Cites “{title['g0']}”, which you saved" in rec.reasons
    assert rec.components["text"] > 0


def test_similar_papers_name_citations_and_never_show_link_tokens(cited_model):
    recs = {r.key: r for r in cited_model.similar("g0", n=23)}
    assert "Cites this paper" in recs["g4"].reasons
    assert "Cited by this paper" in recs["g8"].reasons
    for r in recs.values():
        for reason in r.reasons:
            assert "ref:" not in reason and "kw:" not in reason


def test_a_stored_model_keeps_its_links(cited_model, tmp_path):
    store.save(cited_model, tmp_path)
    loaded = store.load_current(tmp_path)
    assert loaded.text_.link_weight == cited_model.text_.link_weight
    a = [(r.key, r.reasons) for r in cited_model.recommend([HistoryEvent("g0", "save", NOW)], n=10, now=NOW)]
    b = [(r.key, r.reasons) for r in loaded.recommend([HistoryEvent("g0", "save", NOW)], n=10, now=NOW)]
    assert a == b
    np.testing.assert_allclose(loaded.text_.item_vectors_.toarray(), cited_model.text_.item_vectors_.toarray())
