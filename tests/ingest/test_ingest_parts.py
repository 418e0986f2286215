"""The parts under the commands: identity and author parsing, the HTTP client's retries, authoritative upserts,
migration 0004 on a database with data."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from server import create_app
from server.db import alembic_config, db, upgrade_database
from server.ingest.http import UpstreamClient, UpstreamError
from server.ingest.records import BadEntry, arxiv_identity, split_author_string
from server.models import Paper
from server.services.papers import PaperMeta, upsert_papers
from tests.ingest.upstream import Reply, Upstream, error, sequence


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("oai:arXiv.org:2203.01250v3", ("arxiv:2203.01250", 3)),
        ("http://arxiv.org/abs/2401.00001v12", ("arxiv:2401.00001", 12)),
        ("https://export.arxiv.org/abs/hep-ex/0307015v1", ("arxiv:hep-ex/0307015", 1)),
        ("2401.00001", ("arxiv:2401.00001", None)),
        ("math.CO/9901016", ("arxiv:math.CO/9901016", None)),
    ],
)
def test_arxiv_identity(raw, expected):
    assert arxiv_identity(raw) == expected


@pytest.mark.parametrize("raw", [None, "", "  ", "not an id", "http://arxiv.org/api/errors#x", "2401.1v2"])
def test_arxiv_identity_rejects(raw):
    with pytest.raises(BadEntry):
        arxiv_identity(raw)


@pytest.mark.parametrize(
    ("line", "names"),
    [
        ("A. One, B. Two and C. Three", ("A. One", "B. Two", "C. Three")),
        ("A. One (MIT, Cambridge and Boston), B. Two", ("A. One", "B. Two")),
        ("John Smith, Jr., Jane Doe", ("John Smith, Jr.", "Jane Doe")),
        ("  Solo\n  Author ", ("Solo Author",)),
        ("ATLAS Collaboration", ("ATLAS Collaboration",)),
        ("", ()),
    ],
)
def test_split_author_string(line, names):
    assert split_author_string(line) == names


@pytest.fixture
def upstream():
    server = Upstream().start()
    yield server
    server.stop()


def test_client_retries_a_timeout_then_succeeds(upstream):
    upstream.route("/slow", sequence(Reply(200, b"late", delay=2.0), Reply(200, b"on time")))
    client = UpstreamClient(delay=0, retries=2, backoff=0, timeout=0.5)
    assert client.get(upstream.url("/slow")).content == b"on time"
    assert len(upstream.asked("/slow")) == 2


def test_client_gives_up_in_one_line(upstream):
    upstream.route("/down", error(502))
    client = UpstreamClient(delay=0, retries=1, backoff=0, timeout=5)
    with pytest.raises(UpstreamError) as caught:
        client.get(upstream.url("/down"), {"q": "x"})
    message = str(caught.value)
    assert "/down?q=x" in message and "502" in message and "\n" not in message
    assert len(upstream.asked("/down")) == 2
    upstream.route("/missing", Reply(404, b"nope", "text/plain"))
    with pytest.raises(UpstreamError, match="HTTP 404"):
        client.get(upstream.url("/missing"))  # a 4xx is not retried
    assert len(upstream.asked("/missing")) == 1


def test_a_fetch_overwrites_with_non_empty_values_and_blanks_nothing(app):
    key = "arxiv:2401.00009"
    published = datetime(2024, 1, 9, tzinfo=UTC)
    with app.app_context():
        session = db.session
        client_meta = PaperMeta(key, title="A title from a page", abstract="Typed by a client", authors=["X"])
        upsert_papers(session, {key: client_meta}, "client")
        session.commit()
        fetched = PaperMeta(key, title="The arXiv Title", authors=["Ada", "Alan"], published_at=published)
        upsert_papers(session, {key: fetched}, provenance="fetch")
        session.commit()
        session.expunge_all()
        paper = session.query(Paper).filter_by(key=key).one()
        assert (paper.title, paper.abstract, paper.authors) == ("The arXiv Title", "Typed by a client", ["Ada", "Alan"])
        assert paper.published_at == published and paper.provenance == "fetch"


def test_migration_0004_keeps_papers_and_adds_empty_ingest_columns(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "x", "MODEL_DIR": str(tmp_path / "m")})
    upgrade_database(app, "0003")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO papers (id, key, title, abstract, authors, keywords, reference_keys, source, provenance, "
                "created_at, updated_at) VALUES (1, 'arxiv:2401.00001', 't', 'a', '[\"A\"]', '[]', '[]', 'arxiv', "
                "'client', '2026-11-01 00:00:00', '2026-11-01 00:00:00')"
            )
        )
    upgrade_database(app)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT key, title, arxiv_version, primary_category, ai_keywords FROM papers")).one()
        assert tuple(row) == ("arxiv:2401.00001", "t", None, None, None)
        tables = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))}
        assert {"ingest_runs", "oai_harvests", "hf_upvotes"} <= tables
    command.downgrade(alembic_config(url), "0003")  # and back down
    with engine.connect() as conn:
        columns = {r[1] for r in conn.execute(text("PRAGMA table_info(papers)"))}
        assert "arxiv_version" not in columns and conn.execute(text("SELECT count(*) FROM papers")).scalar() == 1
    engine.dispose()
    app.extensions["paperscout_db"].dispose()
