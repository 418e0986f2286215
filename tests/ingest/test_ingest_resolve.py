"""`ingest resolve`: papers that arrived bare through events get their metadata from the arXiv API by id list."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.api.helpers import event
from tests.ingest.conftest import API_PATH
from tests.ingest.helpers import invoke, papers, runs
from tests.ingest.upstream import fixture


def test_resolve_fills_bare_arxiv_papers_and_lists_the_others(app, client, runner, upstream, accounts):
    user = accounts.new()
    bare_events = [
        event(key="https://arxiv.org/pdf/2312.11111v2"),  # a bare PDF URL
        event(key="arxiv:2312.22222", title="protein folding thing"),  # a title from a page, no abstract
        event(key="arxiv:2312.33333"),  # arXiv will not know it
        event(key="doi:10.1145/3580305.3599256"),
        event(key="openreview:AbCdEf123"),
    ]
    response = client.post("/api/v1/events", json={"events": bare_events}, headers=user["headers"])
    assert response.status_code == 200, response.get_json()
    upstream.route(API_PATH, fixture("arxiv_api_ids.xml"))

    result = invoke(runner, "ingest", "resolve")
    assert result.exit_code == 0, result.output
    asked = upstream.asked(API_PATH)
    assert len(asked) == 1
    assert sorted(asked[0]["id_list"].split(",")) == ["2312.11111", "2312.22222", "2312.33333"]
    assert asked[0]["max_results"] == "3"
    assert "2 papers without an arXiv id left as they are:" in result.output
    assert "doi:10.1145/3580305.3599256" in result.output and "openreview:AbCdEf123" in result.output
    assert "1 arXiv papers the API did not describe: arxiv:2312.33333" in result.output
    assert "fetched 2, new 0, updated 2, skipped 1" in result.output

    stored = papers(app)
    rag = stored["arxiv:2312.11111"]
    assert rag.title == "Retrieval-Augmented Generation for Scientific Question Answering"
    assert rag.abstract.startswith("We retrieve passages") and rag.authors == ["Karen Sparck Jones"]
    assert rag.keywords == ["cs.CL", "cs.IR"] and rag.arxiv_version == 2
    assert rag.published_at == datetime(2023, 12, 18, 9, 0, tzinfo=UTC) and rag.provenance == "fetch"
    protein = stored["arxiv:2312.22222"]
    assert protein.title == "Protein Structure Prediction from Sequence Alone"  # arXiv's title replaces the page's
    assert protein.keywords == ["q-bio.BM", "cs.LG"]
    assert stored["arxiv:2312.33333"].title == "" and stored["doi:10.1145/3580305.3599256"].title == ""
    assert runs(app)[-1].problems == ["arxiv:2312.33333: the arXiv API returned no paper for this id"]

    upstream.requests.clear()
    invoke(runner, "ingest", "resolve")  # only the one arXiv does not know is asked again
    assert [q["id_list"] for q in upstream.asked(API_PATH)] == ["2312.33333"]
