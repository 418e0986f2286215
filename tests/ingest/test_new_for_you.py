"""`GET /recommendations?since=1d`: newly ingested papers nobody has opened, ranked for the user.

The catalog of tests/server/catalog.py (graphs vs proteins) is read by two groups of users, a model is trained,
then `ingest arxiv` brings papers of both topics announced today (and one from ten days ago) from the local
fixture server. A graph reader's new-for-you list holds only today's papers, graph ones first.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.api.helpers import assert_error_shape, event
from tests.ingest.conftest import API_PATH
from tests.ingest.helpers import invoke
from tests.ingest.upstream import FIXTURES, Reply
from tests.server.catalog import GRAPH_KEYS, PROTEIN_KEYS
from tests.server.test_recommendations import load_catalog, retrain, save_all

API = "/api/v1"
QUOTED = re.compile(r"“(.+?)”")
NEW_GRAPH = ["arxiv:2601.10001", "arxiv:2601.10002", "arxiv:2601.10003"]
NEW_PROTEIN = ["arxiv:2601.10004", "arxiv:2601.10005", "arxiv:2601.10006"]
TEN_DAYS_OLD = "arxiv:2512.20001"


def todays_papers(now: datetime) -> Reply:
    """The recorded arXiv API page with its dates set relative to ``now`` (a few hours and ten days ago)."""
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    body = (FIXTURES / "arxiv_api_new_template.xml").read_text()
    body = body.replace("{TODAY}", (now - timedelta(hours=3)).strftime(stamp))
    body = body.replace("{TEN_DAYS_AGO}", (now - timedelta(days=10)).strftime(stamp))
    return Reply(200, body.encode(), "application/atom+xml; charset=utf-8")


@pytest.fixture
def readers(client, runner, accounts, upstream, tmp_path):
    """Four graph readers and four protein readers, a trained model, then today's papers ingested."""
    titles = load_catalog(runner, tmp_path)
    rng = random.Random(11)
    users = {"graph": [], "protein": []}
    for group, keys in (("graph", GRAPH_KEYS), ("protein", PROTEIN_KEYS)):
        for _ in range(4):
            user = accounts.new()
            save_all(client, user, rng.sample(keys, 6))
            users[group].append(user)
    retrain(runner)
    upstream.route(API_PATH, lambda _query: todays_papers(datetime.now(UTC)))
    result = invoke(runner, "ingest", "arxiv", "--category", "cs.SI", "--category", "q-bio.BM", "--days", "30")
    assert result.exit_code == 0 and "new 7" in result.output, result.output
    return titles, users


def keys_of(body: dict) -> list[str]:
    return [item["paper"]["key"] for item in body["items"]]


def test_new_papers_of_the_users_topic_come_first_with_new_reasons(client, readers):
    titles, users = readers
    reader = users["graph"][0]
    body = client.get(f"{API}/recommendations?since=1d&limit=20", headers=reader["headers"]).get_json()
    assert body["source"].startswith("model ")
    keys = keys_of(body)
    # only today's papers: neither the older catalog nor the paper from ten days ago
    assert sorted(keys) == sorted(NEW_GRAPH + NEW_PROTEIN), keys
    assert set(keys[:3]) == set(NEW_GRAPH), [(i["paper"]["key"], i["score"], i["reasons"]) for i in body["items"]]

    saved = {
        s["paper"]["key"] for s in client.get(f"{API}/saves?limit=100", headers=reader["headers"]).get_json()["items"]
    }
    for item in body["items"][:3]:
        paper = item["paper"]
        yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
        assert paper["published_at"] and paper["published_at"][:10] >= yesterday
        first = item["reasons"][0]
        assert re.fullmatch(r"New · (similar to|shares topics with) “.+” you saved", first), item["reasons"]
        named = QUOTED.findall(first)[0].rstrip("…")
        assert any(titles[k].startswith(named) for k in saved), (named, saved)
        assert not paper["title"].startswith(named)  # a paper is never its own reason
        # nobody has read them, yet the model's cold-start scorer gives them the collaborative part
        assert item["components"]["cf"] > 0, item
    readers_reasons = [r for item in body["items"][:3] for r in item["reasons"] if r.startswith("Readers of")]
    assert readers_reasons, [i["reasons"] for i in body["items"][:3]]
    for reason in readers_reasons:
        named = QUOTED.findall(reason)[0].rstrip("…")
        assert reason.endswith("also read papers like this") and any(titles[k].startswith(named) for k in saved)

    protein_reader = users["protein"][0]
    body = client.get(f"{API}/recommendations?since=1d", headers=protein_reader["headers"]).get_json()
    assert set(keys_of(body)[:3]) == set(NEW_PROTEIN), [(i["paper"]["key"], i["reasons"]) for i in body["items"]]


def test_a_longer_period_reaches_further_back_and_opened_papers_are_not_new(client, readers):
    _, users = readers
    reader = users["graph"][1]
    month = keys_of(client.get(f"{API}/recommendations?since=30d", headers=reader["headers"]).get_json())
    assert TEN_DAYS_OLD in month and len(month) == 7

    opened = client.post(f"{API}/events", json={"events": [event("open", NEW_GRAPH[0])]}, headers=reader["headers"])
    assert opened.get_json()["accepted"] == 1
    day = keys_of(client.get(f"{API}/recommendations?since=1d", headers=reader["headers"]).get_json())
    assert NEW_GRAPH[0] not in day and set(NEW_GRAPH[1:]) <= set(day[:2])


@pytest.mark.parametrize("since", ["0d", "31d", "1w", "7", "d", "-1d", "100d", ""])
def test_a_bad_period_is_refused_in_the_error_shape(client, accounts, since):
    user = accounts.new()
    response = client.get(f"{API}/recommendations?since={since}", headers=user["headers"])
    assert_error_shape(response, 422)
    assert "since" in response.get_json()["errors"]["query"]
