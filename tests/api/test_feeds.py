"""Atom feeds of a user's lists, read as a feed reader would: no cookie, the token in the URL, parsed with
feedparser (ids, dates, links, authors, reasons); rotating the token ends the old URLs."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import feedparser
import pytest
from alembic import command
from sqlalchemy import create_engine, select, text

from server import create_app
from server.db import alembic_config, db, upgrade_database
from server.models import FeedToken
from server.services.recommendations import NO_MODEL_REASON
from tests.api.helpers import assert_error_shape, event
from tests.conftest import app_config
from tests.server.catalog import GRAPH_KEYS, PROTEIN_KEYS, papers

API = "/api/v1"


def feed_urls(client, user) -> dict[str, str]:
    response = client.get(f"{API}/me/feeds", headers=user["headers"])
    assert response.status_code == 200, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    return {f["list"]: f["url"] for f in response.get_json()["feeds"]}


def read_feed(client, url: str):
    """GET the feed like a reader: the path of the absolute URL, no cookie, no Authorization header."""
    client.delete_cookie("session")
    parts = urlsplit(url)
    response = client.get(parts.path)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/atom+xml"
    parsed = feedparser.parse(response.get_data())
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.version == "atom10"
    return parsed


def save(client, user, key, **paper):
    response = client.put(f"{API}/saves/{key}", json={"paper": paper}, headers=user["headers"])
    assert response.status_code == 200, response.get_json()


def test_feed_urls_are_absolute_stable_and_stored_hashed(app, client, accounts):
    user = accounts.new()
    urls = feed_urls(client, user)
    assert set(urls) == {"for-you", "new", "saved"}
    for name, url in urls.items():
        parts = urlsplit(url)
        assert parts.scheme == "http" and parts.netloc == "localhost"
        assert parts.path.startswith("/feeds/") and parts.path.endswith(f"/{name}.atom")
    assert feed_urls(client, user) == urls  # listing again shows the same URLs
    token = urlsplit(urls["saved"]).path.split("/")[2]
    with app.app_context():
        row = db.session.scalar(select(FeedToken).where(FeedToken.user_id == user["id"]))
        stored = json.dumps([row.selector, row.token_hash])
    assert token not in stored and token[16:] not in stored  # only the selector and a hash are kept
    other = feed_urls(client, accounts.new())
    assert other["saved"] != urls["saved"]


def test_saved_feed_has_ids_dates_links_authors_and_reasons(client, accounts):
    user = accounts.new()
    save(client, user, "arxiv:2401.01234", title="Graphs & <networks>", authors=["Ada Lovelace", "Alan Turing"])
    save(client, user, "doi:10.1000/xyz_1", title="A DOI paper", abstract="It says things.", authors=["Grace Hopper"])
    feed = read_feed(client, feed_urls(client, user)["saved"])
    assert feed.feed.title == "PaperScout: Saved"
    assert feed.feed.id == f"urn:paperscout:user:{user['id']}:feed:saved"
    assert feed.feed.updated_parsed is not None
    assert [e.id for e in feed.entries] == [
        "urn:paperscout:paper:doi:10.1000/xyz_1",
        "urn:paperscout:paper:arxiv:2401.01234",
    ]
    doi, arxiv = feed.entries
    assert arxiv.title == "Graphs & <networks>"
    assert arxiv.link == "https://arxiv.org/abs/2401.01234" and doi.link == "https://doi.org/10.1000/xyz_1"
    assert [a.name for a in arxiv.authors] == ["Ada Lovelace", "Alan Turing"]
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert doi.summary.startswith(f"Why: You saved it on {today}") and "It says things." in doi.summary
    for entry in feed.entries:
        updated = datetime(*entry.updated_parsed[:6], tzinfo=UTC)
        assert abs(updated - datetime.now(UTC)) < timedelta(minutes=5)
    assert read_feed(client, feed_urls(client, user)["saved"]).entries[0].id == doi.id  # ids are stable
    path = urlsplit(feed_urls(client, user)["saved"]).path
    etag = client.get(path).headers["ETag"]
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 304


def test_rotate_revokes_old_urls(client, accounts):
    user = accounts.new()
    old = feed_urls(client, user)
    rotated = client.post(f"{API}/me/feeds/rotate", headers=user["headers"])
    assert rotated.status_code == 200
    new = {f["list"]: f["url"] for f in rotated.get_json()["feeds"]}
    assert new == feed_urls(client, user) and set(new.values()).isdisjoint(old.values())
    for url in old.values():
        body = assert_error_shape(client.get(urlsplit(url).path), 404)
        assert body["message"] == "Not found."
    read_feed(client, new["saved"])


@pytest.mark.parametrize(
    "path",
    [
        "/feeds/{token}/unknown.atom",
        "/feeds/{token}/saved.rss",
        "/feeds/{wrong}/saved.atom",
        "/feeds/{short}/saved.atom",
        "/feeds/nope/saved.atom",
        "/feeds/{selector_only}/saved.atom",
    ],
)
def test_unknown_tokens_and_lists_are_a_plain_404(client, accounts, path):
    user = accounts.new()
    token = urlsplit(feed_urls(client, user)["saved"]).path.split("/")[2]
    wrong = token[:16] + ("A" if token[16] != "A" else "B") + token[17:]
    url = path.format(token=token, wrong=wrong, short=token[:-1], selector_only=token[:16] + "x" * 32)
    body = assert_error_shape(client.get(url), 404)
    assert "token" not in body["message"].lower() and not body["errors"]  # no hint of what was wrong


def test_feeds_ignore_sessions_and_need_no_csrf(client, accounts):
    """A signed-in browser's cookie gives no feed: only the URL's token does (and it works without one)."""
    response = client.post(f"{API}/auth/register", json={"email": "cookie@example.org", "password": "long enough pw"})
    assert response.status_code == 201
    assert_error_shape(client.get("/feeds/" + "A" * 48 + "/saved.atom"), 404)


def test_feeds_are_rate_limited_per_address(database_url, tmp_path, client, accounts):
    user = accounts.new()
    path = urlsplit(feed_urls(client, user)["saved"]).path
    limited = create_app({**app_config(database_url, tmp_path), "RATELIMIT_FEEDS_PER_IP": "2 per minute"})
    try:
        reader = limited.test_client()
        assert [reader.get(path).status_code for _ in range(2)] == [200, 200]
        response = reader.get(path)
        assert_error_shape(response, 429)
        assert int(response.headers["Retry-After"]) >= 1
        other_address = reader.get(path, environ_base={"REMOTE_ADDR": "192.0.2.7"})
        assert other_address.status_code == 200
    finally:
        limited.extensions["paperscout_db"].dispose()


# --------------------------------------------------------------------------------- "New for you" with a model
def _import(runner, tmp_path, records, name):
    path = tmp_path / name
    path.write_text("\n".join(json.dumps(r) for r in records))
    result = runner.invoke(args=["import-papers", str(path)])
    assert result.exit_code == 0, result.output


def _iso(days_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()


def test_new_for_you_ranks_only_this_weeks_papers_for_the_reader(client, runner, accounts, tmp_path):
    catalog = [{**p, "published_at": _iso(60)} for p in papers()]
    _import(runner, tmp_path, catalog, "catalog.jsonl")
    rng = random.Random(3)
    readers = {"graph": [], "protein": []}
    for group, keys in (("graph", GRAPH_KEYS), ("protein", PROTEIN_KEYS)):
        for _ in range(5):
            user = accounts.new()
            events = [event("save", k, minutes_ago=30) for k in rng.sample(keys, 6)]
            assert client.post(f"{API}/events", json={"events": events}, headers=user["headers"]).status_code == 200
            readers[group].append(user)
    result = runner.invoke(args=["retrain", "--quiet"])
    assert result.exit_code == 0, result.output
    # After training: papers of this week (new to the model) and one of last month.
    fresh = [
        {
            "key": "arxiv:2412.00001",
            "title": "Community detection in temporal graphs",
            "published_at": _iso(2),
            "abstract": "Graph clustering of networks with nodes and edges changing over time.",
            "authors": ["N. Ew"],
        },
        {
            "key": "arxiv:2412.00002",
            "title": "Protein structure prediction with language models",
            "published_at": _iso(1),
            "abstract": "Amino acid sequences and residue contacts predict protein structure.",
            "authors": ["P. Rot"],
        },
        {
            "key": "arxiv:2412.00003",
            "title": "Link prediction in large networks",
            "published_at": _iso(40),
            "abstract": "Graph networks, nodes and edges: an old paper.",
            "authors": ["O. Ld"],
        },
    ]
    _import(runner, tmp_path, fresh, "fresh.jsonl")
    graph_reader, protein_reader = readers["graph"][0], readers["protein"][0]

    feed = read_feed(client, feed_urls(client, graph_reader)["new"])
    ids = [e.id for e in feed.entries]
    assert ids[0] == "urn:paperscout:paper:arxiv:2412.00001"
    assert set(ids) == {"urn:paperscout:paper:arxiv:2412.00001", "urn:paperscout:paper:arxiv:2412.00002"}
    assert all(e.summary.startswith("Why: ") for e in feed.entries)
    assert feed.entries[0].published_parsed is not None and feed.entries[0].link == "https://arxiv.org/abs/2412.00001"
    protein_feed = read_feed(client, feed_urls(client, protein_reader)["new"])
    assert protein_feed.entries[0].id == "urn:paperscout:paper:arxiv:2412.00002"

    for_you = read_feed(client, feed_urls(client, graph_reader)["for-you"])
    assert for_you.feed.title == "PaperScout: For you" and len(for_you.entries) > 0
    assert all(e.id.startswith("urn:paperscout:paper:") and e.updated_parsed for e in for_you.entries)


def test_new_for_you_without_a_model_lists_this_weeks_papers_newest_first(client, runner, accounts, tmp_path):
    _import(
        runner,
        tmp_path,
        [
            {"key": "arxiv:2412.00011", "title": "Older this week", "published_at": _iso(5)},
            {"key": "arxiv:2412.00012", "title": "Newest", "published_at": _iso(1)},
            {"key": "arxiv:2412.00013", "title": "Last month", "published_at": _iso(20)},
        ],
        "papers.jsonl",
    )
    user = accounts.new()
    save(client, user, "arxiv:2412.00011")  # saved papers are not "new for you"
    feed = read_feed(client, feed_urls(client, user)["new"])
    assert [e.id for e in feed.entries] == ["urn:paperscout:paper:arxiv:2412.00012"]
    assert NO_MODEL_REASON in feed.entries[0].summary


def test_feed_operations_are_in_the_openapi_document(client):
    paths = client.get(f"{API}/openapi.json").get_json()["paths"]
    assert {"/feeds/{token}/{name}.atom", "/api/v1/me/feeds", "/api/v1/me/feeds/rotate"} <= set(paths)
    assert {"/api/v1/saves/export", "/api/v1/saves/import"} <= set(paths)


def test_migration_0005_adds_and_removes_feed_tokens(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "x", "MODEL_DIR": str(tmp_path / "m")})
    upgrade_database(app, "0004")
    engine = create_engine(url)

    def tables() -> set[str]:
        with engine.connect() as conn:
            return {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))}

    assert "feed_tokens" not in tables()
    upgrade_database(app)
    assert "feed_tokens" in tables()
    command.downgrade(alembic_config(url), "0004")
    assert "feed_tokens" not in tables() and "users" in tables()
    engine.dispose()
    app.extensions["paperscout_db"].dispose()


def test_account_export_names_the_feed_token_and_erasure_ends_the_feeds(client, accounts):
    user = accounts.new()
    assert client.get(f"{API}/me/export", headers=user["headers"]).get_json()["feed_token"] is None
    urls = feed_urls(client, user)
    exported = client.get(f"{API}/me/export", headers=user["headers"]).get_data(as_text=True)
    assert json.loads(exported)["feed_token"]["created_at"]
    assert urlsplit(urls["saved"]).path.split("/")[2] not in exported
    assert client.delete(f"{API}/me", headers=user["headers"]).status_code == 204
    assert_error_shape(client.get(urlsplit(urls["saved"]).path), 404)
