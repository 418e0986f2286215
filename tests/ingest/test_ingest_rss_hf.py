"""`ingest rss` (arXiv's daily announcement feed) and `ingest hf` (Hugging Face daily papers)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from server.db import db
from server.models import HfUpvote, Paper
from tests.ingest.conftest import API_PATH, HF_BASE, RSS_BASE
from tests.ingest.helpers import count, invoke, papers, runs
from tests.ingest.upstream import Reply, by_param, fixture

FEED = f"{RSS_BASE}/cs.LG+cs.CL"
DAILY = f"{HF_BASE}/daily_papers"
HF_PAGE = fixture("hf_daily_2024-01-10.json", "application/json; charset=utf-8")
API_PAGES = by_param("start", {"0": fixture("arxiv_api_page1.xml"), "2": fixture("arxiv_api_page2.xml")})


def test_rss_keeps_new_and_cross_listings_and_updates_versions_of_known_papers(app, runner, upstream):
    upstream.route(API_PATH, API_PAGES)
    invoke(runner, "ingest", "arxiv", "--category", "cs.LG", "--since", "2024-01-01")
    upstream.route(FEED, fixture("rss_cs_LG+cs_CL.xml"))

    result = invoke(runner, "ingest", "rss", "--category", "cs.LG", "--category", "cs.CL")
    assert result.exit_code == 0, result.output
    # five entries: new, cross, a replacement of a known paper, one of an unknown paper, one without an id
    assert "fetched 4, new 2, updated 1, skipped 1" in result.output
    assert upstream.asked(FEED) == [{}]

    stored = papers(app)
    assert "arxiv:2205.09999" not in stored  # a replacement adds no old paper to the catalog
    new = stored["arxiv:2401.05001"]
    assert new.title == "Curriculum Learning for Long-Context Transformers"
    assert new.abstract.startswith("We train transformers on progressively longer contexts")
    assert "Announce Type" not in new.abstract
    assert new.authors == ["Edsger Dijkstra", "Tony Hoare", "Niklaus Wirth"]  # the affiliation is dropped
    announced = datetime(2024, 1, 10, 5, 0, tzinfo=UTC)
    assert new.announced_at == announced and new.published_at == announced
    assert new.arxiv_version == 1 and new.keywords == ["cs.LG", "cs.CL"]
    cross = stored["arxiv:2401.05002"]
    assert cross.primary_category == "math.OC" and cross.authors == ["Emmy Noether", "John von Neumann"]

    replaced = stored["arxiv:2401.00002"]
    assert replaced.arxiv_version == 3 and replaced.version_date == announced
    assert replaced.title == "Instruction Tuning with Synthetic and Human Dialogues"
    assert replaced.published_at == datetime(2024, 1, 3, 11, 0, tzinfo=UTC)  # the API's first-version date stays
    assert replaced.announced_at is None

    run = runs(app)[-1]
    assert run.problems == ["entry 5: no arXiv id"]
    again = invoke(runner, "ingest", "rss", "--category", "cs.LG", "--category", "cs.CL")
    assert "new 0, updated 0" in again.output and len(papers(app)) == len(stored)


def test_an_empty_feed_is_a_quiet_day_not_an_error(app, runner, upstream):
    upstream.route(f"{RSS_BASE}/cs.LG", fixture("rss_empty.xml"))
    result = invoke(runner, "ingest", "rss", "--category", "cs.LG")
    assert result.exit_code == 0, result.output
    run = runs(app)[-1]
    assert (run.status, run.fetched, run.new, run.error) == ("ok", 0, 0, None)


def test_a_feed_that_is_not_xml_fails_the_run_and_stores_nothing(app, runner, upstream):
    upstream.route(f"{RSS_BASE}/cs.LG", Reply(200, b"<html><body>Maintenance", "text/html"))
    result = invoke(runner, "ingest", "rss", "--category", "cs.LG")
    assert result.exit_code == 1
    assert runs(app)[-1].error.startswith("not a well-formed feed")
    assert papers(app) == {}


def test_hf_stores_papers_and_upvotes_per_day(app, runner, upstream):
    upstream.route(DAILY, by_param("date", {"2024-01-10": HF_PAGE}))
    result = invoke(runner, "ingest", "hf", "--date", "2024-01-10")
    assert result.exit_code == 0, result.output
    assert "fetched 2, new 2, updated 0, skipped 1" in result.output
    assert upstream.asked(DAILY) == [{"date": "2024-01-10"}]

    paper = papers(app)["arxiv:2401.07777"]
    assert paper.title == "Video Diffusion Models as World Simulators"
    assert paper.authors == ["Fei-Fei Li", "Andrej Karpathy"]
    assert paper.published_at == datetime(2024, 1, 9, 18, 59, 51, tzinfo=UTC)
    assert paper.github_repo == "https://github.com/example/video-world-sim"
    assert paper.ai_keywords == ["video diffusion", "world model", "simulation"]
    assert paper.provenance == "fetch" and paper.arxiv_version is None
    assert runs(app)[-1].problems == ["item 3: no arXiv id"]
    assert _upvotes(app) == {("arxiv:2401.07777", date(2024, 1, 10)): 212, ("arxiv:2401.00001", date(2024, 1, 10)): 37}

    # the same day again: upvotes grew, nothing is added twice
    grown = HF_PAGE.body.replace(b'"upvotes": 212', b'"upvotes": 250')
    upstream.route(DAILY, by_param("date", {"2024-01-10": Reply(200, grown, "application/json")}))
    again = invoke(runner, "ingest", "hf", "--date", "2024-01-10")
    assert "new 0, updated 0" in again.output
    assert _upvotes(app)[("arxiv:2401.07777", date(2024, 1, 10))] == 250
    assert count(app, HfUpvote) == 2 and len(papers(app)) == 2


def test_hf_fills_but_never_rewrites_a_paper_whose_version_is_known(app, runner, upstream):
    upstream.route(API_PATH, API_PAGES)
    invoke(runner, "ingest", "arxiv", "--category", "cs.LG", "--since", "2024-01-01")
    with app.app_context():  # pretend arXiv's text differs from what Hugging Face copied
        paper = db.session.scalar(select(Paper).where(Paper.key == "arxiv:2401.00001"))
        paper.abstract = "The arXiv abstract of version 1."
        db.session.commit()
    upstream.route(DAILY, by_param("date", {"2024-01-10": HF_PAGE}))
    invoke(runner, "ingest", "hf", "--date", "2024-01-10")
    known = papers(app)["arxiv:2401.00001"]
    assert known.abstract == "The arXiv abstract of version 1."
    assert known.arxiv_version == 1 and known.keywords == ["cs.LG", "cs.AI"]
    assert known.ai_keywords == ["mixture of experts", "graph neural network", "sparse routing"]


def test_hf_day_without_papers_and_a_broken_answer(app, runner, upstream):
    upstream.route(DAILY, by_param("date", {"2024-01-13": Reply(200, b"[]", "application/json")}))
    assert invoke(runner, "ingest", "hf", "--date", "2024-01-13").exit_code == 0
    upstream.route(DAILY, Reply(200, b'{"error": "Invalid date"', "application/json"))
    failed = invoke(runner, "ingest", "hf", "--date", "2024-01-14")
    assert failed.exit_code == 1 and "not JSON" in runs(app)[-1].error


def _upvotes(app) -> dict[tuple[str, date], int]:
    with app.app_context():
        rows = db.session.execute(select(Paper.key, HfUpvote.day, HfUpvote.upvotes).join(Paper)).all()
    return {(key, day): upvotes for key, day, upvotes in rows}
