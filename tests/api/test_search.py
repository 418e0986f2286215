"""Search over the full-text index (FTS5 on SQLite, tsvector on PostgreSQL): ranked, and no query syntax from users."""

from __future__ import annotations

import pytest

from server.services.catalog import MAX_SEARCH_TERMS, search_terms
from tests.api.helpers import assert_error_shape, event

API = "/api/v1"


def _add(client, user, *papers: tuple[str, str, str, list[str]]) -> None:
    events = [
        event("open", key, title=title, abstract=abstract, authors=authors) for key, title, abstract, authors in papers
    ]
    assert client.post(f"{API}/events", json={"events": events}, headers=user["headers"]).get_json()["accepted"]


def _keys(client, q: str) -> list[str]:
    response = client.get(f"{API}/papers", query_string={"q": q})
    assert response.status_code == 200, response.get_json()
    return [p["key"] for p in response.get_json()["items"]]


def test_title_matches_rank_first_and_authors_are_searched(client, accounts):
    user = accounts.new()
    _add(
        client,
        user,
        ("arxiv:2401.00001", "Protein folding", "Spectral methods on a graph of residues.", ["Ada Lovelace"]),
        ("arxiv:2401.00002", "Spectral graph clustering", "Communities in networks.", ["Alan Turing"]),
        ("arxiv:2401.00003", "Quantum circuits", "Error correction.", ["Grace Hopper"]),
    )
    assert _keys(client, "spectral graph") == ["arxiv:2401.00002", "arxiv:2401.00001"]
    assert _keys(client, "turing") == ["arxiv:2401.00002"]
    assert _keys(client, "hopper quantum") == ["arxiv:2401.00003"]
    assert _keys(client, "clust") == ["arxiv:2401.00002"]  # a word's beginning
    assert _keys(client, "graph turing hopper") == []  # every word must match


def test_the_index_follows_updates(client, accounts):
    user = accounts.new()
    _add(client, user, ("arxiv:2401.00001", "", "", []))
    assert _keys(client, "transformer") == []
    _add(client, user, ("arxiv:2401.00001", "Transformers everywhere", "", []))
    assert _keys(client, "transformer") == ["arxiv:2401.00001"]


# (query, whether the paper "Spectral graph clustering" / "École naïve." is found); a query without words lists
# the newest papers, so it finds it too
QUERIES = [
    ('"', True),
    ('graph"', True),
    ('"graph" OR "x"', False),
    ("graph NOT", False),
    ("NEAR(graph clustering, 2)", False),
    ("title:graph", False),
    ("graph*", True),
    ("*", True),
    ("-graph", True),
    ("^graph", True),
    ("graph & spectral | !clustering", True),
    ("(graph", True),
    ("graph:*", True),
    ("'graph'", True),
    ("\\", True),
    ("{graph}", True),
    ("a" * 200, False),
    (" ".join(["graph"] * 33), True),
    ("ÉCOLE naïve", True),
    ("naïve 图", False),
    ("%_", True),
]


@pytest.mark.parametrize(("q", "found"), QUERIES)
def test_query_syntax_is_searched_as_words(client, accounts, q, found):
    user = accounts.new()
    _add(client, user, ("arxiv:2401.00001", "Spectral graph clustering", "École naïve.", ["A. B."]))
    assert _keys(client, q) == (["arxiv:2401.00001"] if found else []), q


def test_nul_and_overlong_queries_are_a_clear_4xx(client):
    assert_error_shape(client.get(f"{API}/papers", query_string={"q": "a\x00b"}), 422)
    assert_error_shape(client.get(f"{API}/papers", query_string={"q": "a" * 201}), 422)


def test_search_terms_are_plain_words():
    assert (
        search_terms('"Graph" OR (net*) -x:y NEAR/2 a_b')
        == ["graph", "or", "net", "x", "y", "near", "2", "a", "b"][:MAX_SEARCH_TERMS]
    )
    assert search_terms("\x00 ' \" ( ) * : & | !") == []
