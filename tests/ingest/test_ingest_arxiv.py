"""`ingest arxiv`: the arXiv API's Atom pages, against a local server answering recorded responses."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from server.db import db
from server.models import PROVENANCE_CLIENT, Paper
from server.services.papers import PaperMeta, upsert_papers
from tests.ingest.conftest import API_PATH
from tests.ingest.helpers import invoke, papers, runs
from tests.ingest.upstream import by_param, error, fixture, sequence

PAGES = {"0": fixture("arxiv_api_page1.xml"), "2": fixture("arxiv_api_page2.xml")}
ARXIV = ("ingest", "arxiv", "--category", "cs.LG", "--category", "cs.CL", "--since", "2024-01-01")


def test_ingests_every_page_with_keys_text_authors_dates_and_categories(app, runner, upstream):
    upstream.route(API_PATH, by_param("start", PAGES))
    result = invoke(runner, *ARXIV)
    assert result.exit_code == 0, result.output
    assert "fetched 3, new 3, updated 0, skipped 1" in result.output

    stored = papers(app)
    assert set(stored) == {"arxiv:2401.00001", "arxiv:2401.00002", "arxiv:2401.00003"}
    first = stored["arxiv:2401.00001"]
    assert first.title == "Sparse Mixture-of-Experts Routing for Graph Neural Networks"
    assert first.abstract.startswith("We route each node of a graph neural network")
    assert first.abstract.endswith("scales to graphs with millions of nodes.")
    assert first.authors == ["Ada Lovelace", "Alan Turing"]
    assert first.keywords == ["cs.LG", "cs.AI"] and first.primary_category == "cs.LG"
    assert first.published_at == datetime(2024, 1, 2, 18, 30, 5, tzinfo=UTC)
    assert first.arxiv_version == 1 and first.version_date == first.published_at
    assert first.url == "https://arxiv.org/abs/2401.00001"
    assert first.source == "arxiv" and first.provenance == "fetch"
    second = stored["arxiv:2401.00002"]
    # the primary category comes first even where the feed lists it second
    assert second.keywords == ["cs.CL", "cs.LG"] and second.primary_category == "cs.CL"
    assert second.arxiv_version == 2
    assert second.version_date == datetime(2024, 1, 5, 9, 12, 44, tzinfo=UTC)
    assert second.published_at == datetime(2024, 1, 3, 11, 0, tzinfo=UTC)

    queries = upstream.asked(API_PATH)
    assert [q["start"] for q in queries] == ["0", "2"]  # stops at opensearch:totalResults, no third request
    assert queries[0]["search_query"].startswith("(cat:cs.LG OR cat:cs.CL) AND submittedDate:[202401010000 TO ")
    assert queries[0]["sortBy"] == "submittedDate" and queries[0]["max_results"] == "2"


def test_a_second_run_adds_nothing_and_a_new_version_updates_in_place(app, runner, upstream):
    upstream.route(API_PATH, by_param("start", PAGES))
    invoke(runner, *ARXIV)
    before = papers(app)

    again = invoke(runner, *ARXIV)
    assert "fetched 3, new 0, updated 0" in again.output
    assert papers(app).keys() == before.keys()

    upstream.route(API_PATH, by_param("start", {**PAGES, "0": fixture("arxiv_api_page1_revised.xml")}))
    revised = invoke(runner, *ARXIV)
    assert "fetched 3, new 0, updated 1" in revised.output
    after = papers(app)
    assert len(after) == 3
    paper = after["arxiv:2401.00002"]
    assert paper.id == before["arxiv:2401.00002"].id  # the same row, updated in place
    assert paper.title == "Instruction Tuning with Synthetic and Human Dialogues"
    assert paper.abstract.endswith("now with human-written dialogues too.")
    assert paper.arxiv_version == 3 and paper.version_date == datetime(2024, 1, 9, 10, 0, tzinfo=UTC)
    assert paper.published_at == datetime(2024, 1, 3, 11, 0, tzinfo=UTC)  # still the first version's date

    # an older version arriving later never replaces the newer one
    upstream.route(API_PATH, by_param("start", PAGES))
    assert "new 0, updated 0" in invoke(runner, *ARXIV).output
    assert papers(app)["arxiv:2401.00002"].arxiv_version == 3


def test_a_malformed_entry_is_skipped_with_its_reason(app, runner, upstream, caplog):
    upstream.route(API_PATH, by_param("start", PAGES))
    with caplog.at_level(logging.WARNING, logger="server.ingest"):
        invoke(runner, *ARXIV)
    assert "arxiv:2401.00004" not in papers(app)  # no half paper
    run = runs(app)[-1]
    assert run.status == "ok" and run.failed == 1
    assert run.problems == ["http://arxiv.org/abs/2401.00004v1: no title"]
    assert "skipped http://arxiv.org/abs/2401.00004v1: no title" in caplog.text


def test_a_server_error_mid_run_leaves_the_catalog_intact_and_the_run_failed(app, runner, upstream):
    with app.app_context():  # a paper a client described before; the failed page must not touch it
        upsert_papers(
            db.session, {"arxiv:2401.00003": PaperMeta("arxiv:2401.00003", title="Seen in a browser")}, "client"
        )
        db.session.commit()
    upstream.route(API_PATH, by_param("start", {"0": PAGES["0"], "2": error(500)}))
    result = invoke(runner, *ARXIV)
    assert result.exit_code == 1
    run = runs(app)[-1]
    assert run.status == "failed" and run.finished_at is not None
    assert "start=2" in run.error and "500" in run.error and "\n" not in run.error
    assert run.error in result.output

    stored = papers(app)
    # the page before the failure is stored whole; the failing page stored nothing
    assert set(stored) == {"arxiv:2401.00001", "arxiv:2401.00002", "arxiv:2401.00003"}
    assert stored["arxiv:2401.00001"].authors == ["Ada Lovelace", "Alan Turing"]
    untouched = stored["arxiv:2401.00003"]
    assert untouched.title == "Seen in a browser" and untouched.provenance == PROVENANCE_CLIENT
    assert untouched.arxiv_version is None
    assert len(upstream.asked(API_PATH)) == 1 + 3  # the failing page was tried once and retried twice


def test_retries_server_errors_then_succeeds(app, runner, upstream):
    flaky = sequence(error(503), error(502), PAGES["0"])
    upstream.route(API_PATH, by_param("start", {"0": flaky, "2": PAGES["2"]}))
    result = invoke(runner, *ARXIV)
    assert result.exit_code == 0, result.output
    assert [q["start"] for q in upstream.asked(API_PATH)] == ["0", "0", "0", "2"]
    assert len(papers(app)) == 3 and runs(app)[-1].status == "ok"


def test_an_api_error_entry_fails_the_run_with_arxivs_message(app, runner, upstream):
    upstream.route(API_PATH, fixture("arxiv_api_error.xml"))
    result = invoke(runner, *ARXIV)
    assert result.exit_code == 1
    assert runs(app)[-1].error == "arXiv API error: incorrect id format for 1234.12345"
    assert papers(app) == {}


def test_a_page_that_is_not_a_feed_is_skipped_once_the_total_is_known(app, runner, upstream):
    truncated = fixture("arxiv_api_page2.xml")
    truncated.body = truncated.body[: len(truncated.body) // 2]
    upstream.route(API_PATH, by_param("start", {"0": PAGES["0"], "2": truncated}))
    result = invoke(runner, *ARXIV)
    assert result.exit_code == 0, result.output
    run = runs(app)[-1]
    assert run.failed == 1 and run.problems[0].startswith("results 2-3: not a well-formed feed")
    assert set(papers(app)) == {"arxiv:2401.00001", "arxiv:2401.00002"}


def test_bad_options_are_usage_errors_and_start_no_run(app, runner, upstream):
    assert runner.invoke(args=["ingest", "arxiv", "--category", "cs.LG; drop"]).exit_code == 2
    both = runner.invoke(args=["ingest", "arxiv", "--category", "cs.LG", "--since", "2024-01-01", "--days", "2"])
    assert both.exit_code == 2
    assert runs(app) == [] and upstream.requests == []
    with app.app_context():
        assert db.session.query(Paper).count() == 0
