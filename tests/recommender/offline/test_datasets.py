"""The loader reads the published splits and the item side information with the documented counts."""

from __future__ import annotations

import pytest

from recommender.offline.datasets import load_citeulike
from recommender.offline.methods import library_papers


def test_loader_counts(p10, data_dir):
    assert (p10.n_users, p10.n_items) == (5551, 16980)
    assert p10.train.nnz == 55510 and p10.test.nnz == 149476
    assert len(p10.eval_users) == 5139
    assert p10.train.multiply(p10.test).nnz == 0
    p1 = load_citeulike(data_dir, 1)
    assert len(p1.eval_users) == 5551 and p1.train.nnz == 5551
    assert p10.text_fields == ["title", "tags", "abstract", "citations"]
    assert p10.titles[0].startswith("The metabolic world of Escherichia coli")


def test_citations_become_references_and_can_be_left_out(p10, data_dir):
    # the dataset README: item 0 links to items 2, 485 and 3284; links are listed at both ends
    assert p10.item_references(0) == [2, 485, 3284]
    assert 0 in p10.item_references(485)
    assert sum(len(p10.item_references(i)) for i in range(p10.n_items)) == 2 * 44661  # self-loops dropped
    docs = library_papers(p10)
    assert docs[0].references == ("2", "485", "3284")
    plain = load_citeulike(data_dir, 10, text_fields=("title", "tags", "abstract"))
    assert "citations" not in plain.text_fields and plain.item_references(0) == []
    assert library_papers(plain)[0].references == ()
    with pytest.raises(ValueError, match="unknown text field"):
        load_citeulike(data_dir, 10, text_fields=("title", "mesh"))
