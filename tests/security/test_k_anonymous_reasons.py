"""Reasons never reveal what fewer than k distinct readers did (PAPERSCOUT_PRIVACY_MIN_READERS, default 3): not
in similar papers, not in recommendations, not in trending lists."""

from __future__ import annotations

import re

import pytest

from server import create_app
from server.config import defaults
from tests.api.helpers import event
from tests.server.catalog import GRAPH_KEYS, PROTEIN_KEYS
from tests.server.test_recommendations import load_catalog, retrain, save_all

API = "/api/v1"
COUNTED = re.compile(r"(\d+) readers?\b|A reader who")


def stated_counts(items) -> list[int]:
    return [
        1 if m.group(1) is None else int(m.group(1))
        for item in items
        for reason in item["reasons"]
        for m in COUNTED.finditer(reason)
    ]


def test_similar_never_tells_one_readers_pair_of_saves(client, runner, accounts, tmp_path):
    """The reported leak: anonymous /similar said "A reader who saved this paper also saved it"."""
    load_catalog(runner, tmp_path)
    anchor, lone, shared = GRAPH_KEYS[0], PROTEIN_KEYS[0], GRAPH_KEYS[1]
    readers = [accounts.new() for _ in range(3)]
    save_all(client, readers[0], [anchor, lone, shared])
    for reader in readers[1:]:
        save_all(client, reader, [anchor, shared])
    retrain(runner)
    items = {i["paper"]["key"]: i for i in client.get(f"{API}/papers/{anchor}/similar?limit=29").get_json()["items"]}
    assert not any("who saved" in r for r in items[lone]["reasons"]), items[lone]
    assert "3 readers who saved this paper also saved it" in items[shared]["reasons"]
    assert min(stated_counts(items.values())) >= 3

    for reader in readers:
        recs = client.get(f"{API}/recommendations?limit=29", headers=reader["headers"]).get_json()["items"]
        assert all(c >= 3 for c in stated_counts(recs)), recs


def test_trending_shows_reader_counts_from_k_readers_on(client, accounts):
    users = [accounts.new() for _ in range(3)]
    few, many = "arxiv:2401.00001", "arxiv:2401.00002"
    for i, user in enumerate(users):
        keys = [many] + ([few] if i < 2 else [])
        client.post(f"{API}/events", json={"events": [event("open", k) for k in keys]}, headers=user["headers"])
    items = {i["paper"]["key"]: i for i in client.get(f"{API}/trending").get_json()["items"]}
    assert items[many]["reasons"] == ["Trending here: 3 readers this week"]
    assert items[few]["reasons"] == ["Trending here this week"]
    # the list served before any model is trained says the same
    newcomer = accounts.new()
    fallback = client.get(f"{API}/recommendations", headers=newcomer["headers"]).get_json()["items"]
    assert {i["paper"]["key"]: i["reasons"][0] for i in fallback} == {
        many: "Trending here: 3 readers this week",
        few: "Trending here this week",
    }


def test_k_is_one_setting_with_a_safe_default(app, client, accounts, monkeypatch, tmp_path):
    assert app.config["PRIVACY_MIN_READERS"] == 3
    monkeypatch.setenv("PAPERSCOUT_PRIVACY_MIN_READERS", "5")
    assert defaults()["PRIVACY_MIN_READERS"] == 5
    with pytest.raises(ValueError, match="PAPERSCOUT_PRIVACY_MIN_READERS"):
        create_app({**app.config, "PRIVACY_MIN_READERS": 0})
    # raising k hides counts that a lower k shows
    users = [accounts.new() for _ in range(3)]
    for user in users:
        client.post(f"{API}/events", json={"events": [event("open", "arxiv:2401.00001")]}, headers=user["headers"])
    assert client.get(f"{API}/trending").get_json()["items"][0]["reasons"] == ["Trending here: 3 readers this week"]
    app.config["PRIVACY_MIN_READERS"] = 4
    assert client.get(f"{API}/trending").get_json()["items"][0]["reasons"] == ["Trending here this week"]
