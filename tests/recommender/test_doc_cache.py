import numpy as np
import pytest

from recommender.doc_cache import DocVectorCache
from recommender.models.content import TextModel
from recommender.serving import PaperDoc

# The hyper-parameters these tests were written against (the packaged config's are the defaults now).
BASE_PARAMS = {"min_df": 1, "keyword_tokens": False, "specificity": 0.0, "link_weight": 1.0}


def make_model(**params):
    return TextModel(**{**BASE_PARAMS, **params})


@pytest.fixture
def text_model():
    return make_model(max_features=1000).fit(
        ["graph networks communities", "protein folding structure", "random walks on graphs", "protein docking"]
    )


def test_cached_vectors_equal_fresh_transform(text_model):
    cache = DocVectorCache(text_model, maxsize=3)
    docs = [PaperDoc("a", "graph communities"), PaperDoc("b", "protein structure"), PaperDoc("c", "nothing known")]
    first = cache.vectors(docs)
    expected = text_model.transform([d.text for d in docs])
    np.testing.assert_allclose(first.toarray(), expected.toarray())
    again = cache.vectors(list(reversed(docs)))
    np.testing.assert_allclose(again.toarray(), expected.toarray()[::-1])
    assert len(cache) == 3


def test_changed_text_is_recomputed_and_size_is_bounded(text_model):
    cache = DocVectorCache(text_model, maxsize=2)
    cache.vectors([PaperDoc("a", "graph communities")])
    changed = cache.vectors([PaperDoc("a", "protein docking")])
    np.testing.assert_allclose(changed.toarray(), text_model.transform(["protein docking"]).toarray())
    cache.vectors([PaperDoc("b", "random walks"), PaperDoc("c", "protein folding")])
    assert len(cache) == 2
    assert cache.vectors([]).shape == (0, text_model.item_vectors_.shape[1])
    with pytest.raises(ValueError):
        DocVectorCache(text_model, maxsize=0)
