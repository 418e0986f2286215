import pytest

from tests.api.helpers import assert_error_shape, event

API = "/api/v1"


def test_save_unsave_roundtrip_with_metadata(client, accounts):
    user = accounts.new()
    put = client.put(
        f"{API}/saves/arxiv:2401.01234v2",
        json={"paper": {"title": "Saved paper", "authors": ["Z"]}},
        headers=user["headers"],
    )
    assert put.status_code == 200
    assert put.get_json()["paper"]["key"] == "arxiv:2401.01234" and put.get_json()["paper"]["saved"] is True
    again = client.put(f"{API}/saves/arxiv%3A2401.01234", headers=user["headers"])
    assert again.get_json()["saved_at"] == put.get_json()["saved_at"]
    assert client.delete(f"{API}/saves/arxiv:2401.01234", headers=user["headers"]).status_code == 204
    assert client.delete(f"{API}/saves/arxiv:2401.01234", headers=user["headers"]).status_code == 204
    assert client.get(f"{API}/saves", headers=user["headers"]).get_json() == {"items": [], "next_cursor": None}


def test_saves_paginate_newest_first(client, accounts):
    user = accounts.new()
    keys = [f"arxiv:2401.0{i:04d}" for i in range(7)]
    client.post(
        f"{API}/events",
        json={"events": [event("save", k, minutes_ago=10 - i) for i, k in enumerate(keys)]},
        headers=user["headers"],
    )
    seen, cursor = [], None
    while True:
        url = f"{API}/saves?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=user["headers"]).get_json()
        seen += [item["paper"]["key"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(keys))


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=x", "cursor=%%%", "cursor=bm9wZQ", "foo=1"])
def test_bad_save_list_args(client, accounts, query):
    user = accounts.new()
    assert_error_shape(client.get(f"{API}/saves?{query}", headers=user["headers"]), 422)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("put", "/saves/not-a-key", None),
        ("put", "/saves/arxiv:2401.01234", {"paper": {"title": 5}}),
        ("put", "/saves/arxiv:2401.01234", {"paper": {"key": "arxiv:2402.00000"}}),
        ("put", "/saves/arxiv:2401.01234", {"title": "no wrapper"}),
        ("delete", "/saves/https://example.com/x", None),
        ("post", "/papers/not-a-key/dismiss", None),
        ("get", "/papers/doi:nope", None),
    ],
)
def test_invalid_keys_and_bodies_are_422(client, accounts, method, path, body):
    user = accounts.new()
    response = getattr(client, method)(f"{API}{path}", json=body, headers=user["headers"])
    assert_error_shape(response, 422)


def test_unknown_paper_is_404(client, accounts):
    user = accounts.new()
    assert_error_shape(client.get(f"{API}/papers/arxiv:2401.99999"), 404)
    assert_error_shape(client.post(f"{API}/papers/arxiv:2401.99999/dismiss", headers=user["headers"]), 404)


def test_doi_keys_with_slashes_route_correctly(client, accounts):
    user = accounts.new()
    client.put(f"{API}/saves/doi:10.1000/Some/Path", headers=user["headers"])
    assert client.get(f"{API}/papers/doi:10.1000/some/path").get_json()["key"] == "doi:10.1000/some/path"
    assert client.post(f"{API}/papers/doi:10.1000/some/path/dismiss", headers=user["headers"]).status_code == 200
    assert client.delete(f"{API}/papers/doi:10.1000/some/path/dismiss", headers=user["headers"]).status_code == 204


def test_users_are_isolated(client, accounts):
    alice, bob = accounts.new(), accounts.new()
    client.post(
        f"{API}/events",
        json={"events": [event("save", "arxiv:2401.00001"), event("open", "arxiv:2401.00002")]},
        headers=alice["headers"],
    )
    client.post(f"{API}/papers/arxiv:2401.00002/dismiss", headers=alice["headers"])
    assert client.get(f"{API}/saves", headers=bob["headers"]).get_json()["items"] == []
    # Bob unsaving or undismissing changes nothing of Alice's.
    client.delete(f"{API}/saves/arxiv:2401.00001", headers=bob["headers"])
    client.delete(f"{API}/papers/arxiv:2401.00002/dismiss", headers=bob["headers"])
    assert len(client.get(f"{API}/saves", headers=alice["headers"]).get_json()["items"]) == 1
    assert client.get(f"{API}/papers/arxiv:2401.00002", headers=alice["headers"]).get_json()["dismissed"] is True
    assert client.get(f"{API}/papers/arxiv:2401.00001", headers=bob["headers"]).get_json()["saved"] is False
    bob_export = client.get(f"{API}/me/export", headers=bob["headers"]).get_json()
    assert bob_export["interactions"] == [] and bob_export["saves"] == []


def test_search_titles_and_abstracts(client, accounts):
    user = accounts.new()
    client.post(
        f"{API}/events",
        json={
            "events": [
                event("open", "arxiv:2401.00001", title="Graph neural networks", abstract="Message passing."),
                event("open", "arxiv:2401.00002", title="Protein folding", abstract="Graph of residues."),
                event("open", "arxiv:2401.00003", title="Unrelated 100% stuff", abstract="Nothing."),
            ]
        },
        headers=user["headers"],
    )
    keys = [p["key"] for p in client.get(f"{API}/papers?q=graph").get_json()["items"]]
    assert keys == ["arxiv:2401.00001", "arxiv:2401.00002"]
    assert [p["key"] for p in client.get(f"{API}/papers?q=graph+message").get_json()["items"]] == ["arxiv:2401.00001"]
    assert [p["key"] for p in client.get(f"{API}/papers?q=100%25").get_json()["items"]] == ["arxiv:2401.00003"]
    assert len(client.get(f"{API}/papers?limit=2").get_json()["items"]) == 2
    assert_error_shape(client.get(f"{API}/papers?limit=1000"), 422)


def test_trending_counts_readers_and_windows(client, accounts):
    users = [accounts.new() for _ in range(3)]
    hot, warm, old = "arxiv:2401.00001", "arxiv:2401.00002", "arxiv:2401.00003"
    for user in users:
        client.post(f"{API}/events", json={"events": [event("open", hot), event("save", hot)]}, headers=user["headers"])
    client.post(
        f"{API}/events",
        json={"events": [event("open", warm, minutes_ago=60 * 30), event("open", old, minutes_ago=60 * 24 * 10)]},
        headers=users[0]["headers"],
    )
    week = client.get(f"{API}/trending?window=7d").get_json()
    assert [i["paper"]["key"] for i in week["items"]] == [hot, warm]
    assert week["items"][0]["reasons"] == ["Trending here: 3 readers this week"]
    day = client.get(f"{API}/trending?window=1d").get_json()
    assert [i["paper"]["key"] for i in day["items"]] == [hot]
    month = client.get(f"{API}/trending?window=30d&limit=2").get_json()
    assert [i["paper"]["key"] for i in month["items"]] == [hot, warm]
    assert_error_shape(client.get(f"{API}/trending?window=2d"), 422)


def test_dismissed_and_unsave_events_do_not_trend(client, accounts):
    user = accounts.new()
    client.post(f"{API}/events", json={"events": [event("dismiss", "arxiv:2401.00009")]}, headers=user["headers"])
    assert client.get(f"{API}/trending").get_json()["items"] == []


def test_recommendations_without_model_fall_back_to_trending(client, accounts):
    alice, bob = accounts.new(), accounts.new()
    client.post(
        f"{API}/events",
        json={"events": [event("save", "arxiv:2401.00001"), event("open", "arxiv:2401.00002")]},
        headers=alice["headers"],
    )
    items = client.get(f"{API}/recommendations", headers=bob["headers"]).get_json()["items"]
    assert [i["paper"]["key"] for i in items] == ["arxiv:2401.00001", "arxiv:2401.00002"]
    assert all(any(r.startswith("Trending here") for r in i["reasons"]) for i in items)
    mine = client.get(f"{API}/recommendations", headers=alice["headers"]).get_json()["items"]
    assert mine == []  # never what I saved or opened
    assert_error_shape(client.get(f"{API}/recommendations"), 401)
