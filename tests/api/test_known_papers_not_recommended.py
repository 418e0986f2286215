"""Papers a reader opened, saved or dismissed are never recommended to them again: not in For you, not in New for
you (`?since=`), not in their Atom feeds; minutes after the event (newer than the model), and after a retrain
that has learnt it. With and without a model. No paper is named in its own reasons. (The digest: see
tests/digest/test_digest_ranking.py.)"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta

from tests.api.helpers import event
from tests.api.test_feeds import _import, feed_urls, read_feed
from tests.server.catalog import GRAPH_KEYS, PROTEIN_KEYS, papers
from tests.server.test_recommendations import retrain, save_all

API = "/api/v1"
QUOTED = re.compile(r"“(.+?)”")
FRESH_GRAPH = ["arxiv:2612.90001", "arxiv:2612.90002", "arxiv:2612.90003"]
FRESH_PROTEIN = ["arxiv:2612.90004", "arxiv:2612.90005"]


def _iso(days_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()


def _fresh() -> list[dict]:
    """This week's papers, imported after the retrain (new to the model: text and the cold-start scorer)."""
    graph = ["overlapping communities", "graph neural link prediction", "random walk node embeddings"]
    protein = ["protein folding pathways", "antibody docking"]
    out = []
    for key, topic in zip(FRESH_GRAPH, graph, strict=True):
        out.append(
            {
                "key": key,
                "title": f"Faster {topic} in large complex networks",
                "abstract": f"We study {topic} on graphs with nodes and edges, network science and graph algorithms.",
                "published_at": _iso(1),
            }
        )
    for key, topic in zip(FRESH_PROTEIN, protein, strict=True):
        out.append(
            {
                "key": key,
                "title": f"Learning {topic} from sequence",
                "abstract": f"We address {topic} for proteins from amino acid sequences and structure.",
                "published_at": _iso(1),
            }
        )
    return out


def _community(client, runner, accounts, tmp_path) -> dict[str, str]:
    """The two-field catalog (published two months ago), five readers of each field; returns key -> title."""
    catalog = [{**p, "published_at": _iso(60)} for p in papers()]
    _import(runner, tmp_path, catalog, "catalog.jsonl")
    rng = random.Random(5)
    for keys in (GRAPH_KEYS, PROTEIN_KEYS):
        for _ in range(5):
            save_all(client, accounts.new(), rng.sample(keys, 6))
    return {p["key"]: p["title"] for p in catalog}


def _lists(client, reader) -> dict[str, list[dict]]:
    """The reader's For you and New for you, through the API and through their Atom feeds."""
    headers = reader["headers"]
    out = {
        "for you": client.get(f"{API}/recommendations?limit=50", headers=headers).get_json()["items"],
        "new": client.get(f"{API}/recommendations?since=7d&limit=50", headers=headers).get_json()["items"],
    }
    urls = feed_urls(client, reader)
    for name in ("for-you", "new"):
        entries = read_feed(client, urls[name]).entries
        out[f"feed {name}"] = [{"paper": {"key": e.id.rsplit(":paper:", 1)[1], "title": e.title}} for e in entries]
    return out


def _mark(client, reader, opened: list[str], saved: list[str], dismissed: list[str]) -> None:
    events = (
        [event("open", k, minutes_ago=1) for k in opened]
        + [event("save", k, minutes_ago=1) for k in saved]
        + [event("dismiss", k, minutes_ago=1) for k in dismissed]
    )
    body = client.post(f"{API}/events", json={"events": events}, headers=reader["headers"]).get_json()
    assert body["accepted"] == len(events), body


def _assert_none_known(lists: dict[str, list[dict]], known: set[str]) -> None:
    for name, items in lists.items():
        shown = [i["paper"]["key"] for i in items]
        assert not known & set(shown), (name, sorted(known & set(shown)))


def _assert_never_its_own_reason(items: list[dict]) -> None:
    for item in items:
        for quoted in QUOTED.findall(" ".join(item["reasons"])):
            assert not item["paper"]["title"].startswith(quoted.rstrip("…")), item


def test_opened_saved_and_dismissed_papers_leave_for_you_new_and_feeds(client, runner, accounts, tmp_path):
    titles = _community(client, runner, accounts, tmp_path)
    retrain(runner)
    _import(runner, tmp_path, _fresh(), "fresh.jsonl")
    reader = accounts.new()
    save_all(client, reader, GRAPH_KEYS[:3], minutes_ago=60)

    before = _lists(client, reader)
    for_you = {i["paper"]["key"] for i in before["for you"]}
    new = {i["paper"]["key"] for i in before["new"]}
    assert set(GRAPH_KEYS[3:6]) <= for_you and set(FRESH_GRAPH) <= for_you and set(FRESH_GRAPH) <= new
    # opened, saved and dismissed a minute ago: a catalog paper the model knows and a new paper of each
    opened, saved, dismissed = [GRAPH_KEYS[3], FRESH_GRAPH[0]], [GRAPH_KEYS[4], FRESH_GRAPH[1]], [FRESH_GRAPH[2]]
    _mark(client, reader, opened, saved, [GRAPH_KEYS[5], *dismissed])
    known = set(GRAPH_KEYS[:6]) | set(FRESH_GRAPH)

    after = _lists(client, reader)
    _assert_none_known(after, known)
    assert after["for you"] and after["new"] and set(FRESH_PROTEIN) <= {i["paper"]["key"] for i in after["new"]}
    _assert_never_its_own_reason(after["for you"] + after["new"])
    # the papers named in reasons are the reader's own, opened ones among them
    own = [titles[k] for k in GRAPH_KEYS[:5]] + [p["title"] for p in _fresh() if p["key"] in FRESH_GRAPH[:2]]
    named = {q.rstrip("…") for i in after["for you"] + after["new"] for q in QUOTED.findall(" ".join(i["reasons"]))}
    assert named and all(any(t.startswith(n) for t in own) for n in named), (named, own)

    summary = retrain(runner)  # the model has now learnt the reader's events (and the new papers)
    assert summary["counts"]["users"] == 11
    again = _lists(client, reader)
    _assert_none_known(again, known)
    assert again["for you"]
    _assert_never_its_own_reason(again["for you"] + again["new"])


def test_without_a_model_opened_saved_and_dismissed_papers_are_not_listed(client, runner, accounts, tmp_path):
    _community(client, runner, accounts, tmp_path)
    _import(runner, tmp_path, _fresh(), "fresh.jsonl")
    reader = accounts.new()
    before = _lists(client, reader)
    assert before["for you"][0]["reasons"][-1].startswith("Personal picks come once")  # the trending fallback
    trending = [i["paper"]["key"] for i in before["for you"]]
    opened, saved, dismissed = [trending[0], FRESH_GRAPH[0]], [trending[1], FRESH_GRAPH[1]], [trending[2]]
    _mark(client, reader, opened, saved, [*dismissed, FRESH_PROTEIN[0]])
    after = _lists(client, reader)
    _assert_none_known(after, {*opened, *saved, *dismissed, FRESH_PROTEIN[0]})
    assert after["for you"]
    assert {i["paper"]["key"] for i in after["new"]} == {FRESH_GRAPH[2], FRESH_PROTEIN[1]}
