"""`ingest oai`: OAI-PMH ListRecords in arXivRaw, resumption tokens, and resuming after an interruption."""

from __future__ import annotations

from datetime import UTC, date, datetime

from server.db import db
from server.models import OaiHarvest
from tests.ingest.conftest import OAI_PATH
from tests.ingest.helpers import invoke, papers, runs
from tests.ingest.upstream import Reply, by_param, error, sequence, xml

TOKEN_1, TOKEN_2 = "6380412|1001", "6380412|2001"
FIRST = {"verb": "ListRecords", "metadataPrefix": "arXivRaw", "set": "cs", "from": "2024-01-01", "until": "2024-01-09"}
HARVEST = ("ingest", "oai", "--set", "cs", "--from", "2024-01-01", "--until", "2024-01-09")


def pages(second: Reply | None = None) -> object:
    return by_param(
        "resumptionToken",
        {"": xml("oai_page1.xml"), TOKEN_1: second or xml("oai_page2.xml"), TOKEN_2: xml("oai_page3.xml")},
    )


def state(app) -> OaiHarvest | None:
    with app.app_context():
        row = db.session.get(OaiHarvest, "cs")
        db.session.expunge_all()
        return row


def test_harvests_every_page_following_the_tokens(app, runner, upstream):
    upstream.route(OAI_PATH, pages())
    result = invoke(runner, *HARVEST)
    assert result.exit_code == 0, result.output
    assert "fetched 4, new 4, updated 0, skipped 1" in result.output
    assert upstream.asked(OAI_PATH) == [
        FIRST,
        {"verb": "ListRecords", "resumptionToken": TOKEN_1},
        {"verb": "ListRecords", "resumptionToken": TOKEN_2},
    ]

    stored = papers(app)
    assert set(stored) == {"arxiv:2401.00001", "arxiv:2401.00002", "arxiv:2401.00003", "arxiv:cs/0601001"}
    old = stored["arxiv:cs/0601001"]
    assert old.title == "Programs with Common Sense, Revisited"
    assert old.authors == ["John McCarthy", "Marvin Minsky", "Seymour Papert"]
    assert old.keywords == ["cs.AI", "cs.LO"] and old.primary_category == "cs.AI"
    assert old.arxiv_version == 3 and old.version_date == datetime(2024, 1, 9, 16, 20, tzinfo=UTC)
    assert old.published_at == datetime(2006, 1, 1, 12, 0, tzinfo=UTC)
    revised = stored["arxiv:2401.00002"]
    assert revised.arxiv_version == 2 and revised.published_at == datetime(2024, 1, 3, 11, 0, tzinfo=UTC)
    assert stored["arxiv:2401.00003"].authors == ["Claude Shannon", "Barbara Liskov"]
    assert "arxiv:2311.99999" not in stored and "arxiv:2401.00005" not in stored  # deleted; no abstract
    assert runs(app)[-1].problems == ["oai:arXiv.org:2401.00005: no abstract"]

    done = state(app)
    assert done.resumption_token is None and done.harvested_through == date(2024, 1, 9)


def test_an_interrupted_harvest_resumes_after_the_last_stored_page(app, runner, upstream):
    upstream.route(OAI_PATH, pages(second=error(503)))
    failed = invoke(runner, *HARVEST)
    assert failed.exit_code == 1
    run = runs(app)[-1]
    assert run.status == "failed" and "503" in run.error and run.new == 2
    assert set(papers(app)) == {"arxiv:2401.00001", "arxiv:2401.00002"}  # the first page, whole
    paused = state(app)
    assert paused.resumption_token == TOKEN_1 and paused.cursor == 0 and paused.complete_list_size == 6
    assert paused.harvested_through is None

    upstream.requests.clear()
    upstream.route(OAI_PATH, pages())
    resumed = invoke(runner, "ingest", "oai", "--set", "cs")  # the same harvest: no dates needed
    assert resumed.exit_code == 0, resumed.output
    assert upstream.asked(OAI_PATH)[0] == {"verb": "ListRecords", "resumptionToken": TOKEN_1}
    assert runs(app)[-1].params["resumed"] is True
    assert len(papers(app)) == 4
    assert state(app).resumption_token is None and state(app).harvested_through == date(2024, 1, 9)


def test_a_broken_page_fails_the_run_and_the_harvest_resumes_there(app, runner, upstream):
    broken = xml("oai_page2.xml")
    broken.body = broken.body[:-200]  # cut off mid-record
    upstream.route(OAI_PATH, pages(second=broken))
    assert invoke(runner, *HARVEST).exit_code == 1
    assert runs(app)[-1].error.startswith("OAI-PMH page is not well-formed XML")
    assert state(app).resumption_token == TOKEN_1


def test_a_finished_harvest_continues_from_the_day_it_reached(app, runner, upstream):
    upstream.route(OAI_PATH, pages())
    invoke(runner, *HARVEST)
    upstream.requests.clear()
    upstream.route(OAI_PATH, xml("oai_no_records.xml"))
    nothing_new = invoke(runner, "ingest", "oai", "--set", "cs")
    assert nothing_new.exit_code == 0, nothing_new.output
    first = upstream.asked(OAI_PATH)[0]
    assert first["from"] == "2024-01-09" and "until" not in first and "resumptionToken" not in first
    assert "fetched 0, new 0" in nothing_new.output


def test_an_expired_token_restarts_the_harvest_from_its_first_day(app, runner, upstream):
    upstream.route(OAI_PATH, pages(second=error(503)))
    invoke(runner, *HARVEST)
    upstream.requests.clear()
    expired_once = sequence(xml("oai_bad_token.xml"), xml("oai_page2.xml"))
    upstream.route(OAI_PATH, pages(second=expired_once))
    result = invoke(runner, "ingest", "oai", "--set", "cs")
    assert result.exit_code == 0, result.output
    asked = upstream.asked(OAI_PATH)
    assert asked[0] == {"verb": "ListRecords", "resumptionToken": TOKEN_1}
    assert asked[1] == FIRST  # started again from the harvest's first day
    assert "new 2, updated 0" in result.output  # the first page's papers were stored already
    assert len(papers(app)) == 4 and state(app).resumption_token is None
