"""`flask load-demo`: the demo's arXiv papers carry their arXiv keys, authors and dates and come in through the
ingestion code path (a recorded arXiv API response read by the parser of `ingest arxiv`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select

from server.db import db
from server.ingest.demo import DEMO_ARXIV, DEMO_CATALOG
from server.models import Paper, Save
from tests.api.helpers import event
from tests.ingest.conftest import API_PATH
from tests.ingest.helpers import invoke, papers, runs
from tests.ingest.upstream import Reply

API = "/api/v1"
PBT = "arxiv:1711.09846"
PBT_TITLE = "Population Based Training of Neural Networks"


def demo_lines() -> list[dict]:
    return [json.loads(line) for line in DEMO_CATALOG.read_text().splitlines() if line.strip()]


def test_load_demo_stores_arxiv_papers_through_ingestion_once(app, runner):
    first = invoke(runner, "load-demo")
    assert first.exit_code == 0, first.output
    stored = papers(app)
    arxiv = {k: p for k, p in stored.items() if k.startswith("arxiv:")}
    assert len(arxiv) == 11 and len(stored) == 11 + len(demo_lines())
    pbt = arxiv[PBT]
    assert pbt.title == PBT_TITLE and pbt.source == "arxiv"
    assert pbt.authors[:2] == ["Max Jaderberg", "Valentin Dalibard"] and len(pbt.authors) == 12
    assert pbt.published_at == datetime(2017, 11, 27, tzinfo=UTC)
    assert arxiv["arxiv:2310.14189"].authors == ["Yang Song", "Prafulla Dhariwal"]
    run = runs(app)[-1]
    assert (run.source, run.status, run.fetched, run.new, run.failed) == ("demo", "ok", 11, 11, 0)

    second = invoke(runner, "load-demo")
    assert second.exit_code == 0, second.output
    assert (runs(app)[-1].new, runs(app)[-1].updated) == (0, 0) and len(papers(app)) == len(stored)
    # the demo papers without a confirmed arXiv id keep their demo keys, and no title is in both files
    titles = {p.title for p in arxiv.values()}
    assert all(line["key"].startswith("demo:") and line["title"] not in titles for line in demo_lines())


def test_opening_the_real_arxiv_page_of_a_demo_paper_finds_the_same_paper(app, client, runner, accounts):
    invoke(runner, "load-demo")
    before = len(papers(app))
    user = accounts.new()
    body = client.post(
        f"{API}/events",
        json={"events": [event("open", "https://arxiv.org/abs/1711.09846v2", title=PBT_TITLE)]},
        headers=user["headers"],
    ).get_json()
    assert body["accepted"] == 1, body
    assert len(papers(app)) == before
    paper = client.get(f"{API}/papers/{PBT}").get_json()
    assert paper["title"] == PBT_TITLE and paper["url"] == "https://arxiv.org/abs/1711.09846"


def test_the_recorded_file_is_what_ingest_arxiv_reads(app, runner, upstream):
    invoke(runner, "load-demo")
    upstream.route(API_PATH, Reply(200, DEMO_ARXIV.read_bytes(), "application/atom+xml; charset=utf-8"))
    result = invoke(runner, "ingest", "arxiv", "--category", "cs.LG", "--days", "1")
    assert result.exit_code == 0 and "fetched 11, new 0, updated 0" in result.output, result.output


def test_an_install_with_the_old_demo_keys_keeps_one_row_per_paper_and_its_saves(
    app, client, runner, accounts, tmp_path
):
    old_key = "demo:population-based-training-of-neural-networks"
    path = tmp_path / "old-demo.jsonl"
    path.write_text(json.dumps({"key": old_key, "title": PBT_TITLE, "abstract": "An earlier demo row."}) + "\n")
    assert invoke(runner, "import-papers", str(path)).exit_code == 0
    user = accounts.new()
    assert client.put(f"{API}/saves/{old_key}", headers=user["headers"]).status_code in (200, 201)
    with app.app_context():
        old_id = db.session.scalar(select(Paper.id).where(Paper.key == old_key))

    invoke(runner, "load-demo")
    stored = papers(app)
    assert old_key not in stored and stored[PBT].id == old_id
    assert stored[PBT].abstract != "An earlier demo row." and len(stored[PBT].authors) == 12
    with app.app_context():
        assert db.session.scalar(select(Save.paper_id).where(Save.user_id == user["id"])) == old_id
