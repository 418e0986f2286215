"""Issue 12, defect 2: the paper catalog is shared, so one user's events and saves must not rewrite what every
other user sees. Imported metadata is authoritative; a client only fills empty fields of a paper nobody
imported, within size limits, and never sets a URL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, update

from server.db import db
from server.models import Paper
from server.services.papers import CLIENT_LIMITS
from tests.api.helpers import assert_error_shape, event
from tests.api.test_me_admin import admin_headers

API = "/api/v1"
KEY = "arxiv:2401.04321"
IMPORTED = {
    "key": KEY,
    "title": "Sparse attention at scale",
    "abstract": "We study sparse attention.",
    "authors": ["A. Author"],
    "keywords": ["attention"],
    "references": ["arxiv:2312.00001"],
    "url": "https://example.org/not-the-canonical-page",
}
REWRITE = {
    "title": "Sparse attention at scale: a much longer and different title",
    "abstract": "We study sparse attention." + " And we add a lot more text to it." * 20,
    "authors": ["A. Author", "B. Intruder", "C. Intruder"],
    "keywords": ["attention", "buy-now", "spam"],
    "references": ["arxiv:2312.00001", "arxiv:2312.09999"],
}


def what_a_sees(client, headers) -> dict:
    """Every view of the paper user A has: its page, search, A's saves, trending."""
    page = client.get(f"{API}/papers/{KEY}", headers=headers).get_json()
    found = [p for p in client.get(f"{API}/papers?q=sparse", headers=headers).get_json()["items"] if p["key"] == KEY]
    saved = [s["paper"] for s in client.get(f"{API}/saves", headers=headers).get_json()["items"]]
    trending = [
        i["paper"]
        for i in client.get(f"{API}/trending", headers=headers).get_json()["items"]
        if i["paper"]["key"] == KEY
    ]
    return {"page": page, "search": found, "saves": saved, "trending": trending}


def import_via_cli(runner, tmp_path, records) -> None:
    path = tmp_path / "catalog.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records))
    result = runner.invoke(args=["import-papers", str(path)])
    assert result.exit_code == 0, result.output


def test_user_b_cannot_change_what_user_a_sees_of_an_imported_paper(client, runner, accounts, tmp_path):
    import_via_cli(runner, tmp_path, [IMPORTED])
    alice, bob = accounts.new(), accounts.new()
    client.put(f"{API}/saves/{KEY}", headers=alice["headers"])
    before = what_a_sees(client, alice["headers"])
    assert before["page"]["url"] == "https://arxiv.org/abs/2401.04321"  # derived from the key, not the import
    assert before["page"]["abstract"] == IMPORTED["abstract"] and before["search"] and before["saves"]

    body = client.post(
        f"{API}/events",
        json={"events": [event("open", KEY, **REWRITE), event("save", KEY, **REWRITE)]},
        headers=bob["headers"],
    ).get_json()
    assert body["accepted"] == 2  # the events count; only their metadata is ignored
    javascript = client.post(
        f"{API}/events", json={"events": [event("open", KEY, url="javascript:alert(1)")]}, headers=bob["headers"]
    ).get_json()
    assert javascript["accepted"] == 0 and "url" in javascript["rejected"][0]["errors"]["paper"]
    saved = client.put(f"{API}/saves/{KEY}", json={"paper": REWRITE}, headers=bob["headers"])
    assert saved.status_code == 200 and saved.get_json()["paper"]["abstract"] == IMPORTED["abstract"]
    assert_error_shape(
        client.put(f"{API}/saves/{KEY}", json={"paper": {"url": "javascript:alert(1)"}}, headers=bob["headers"]), 422
    )

    after = what_a_sees(client, alice["headers"])
    assert after["page"] == before["page"] and after["search"] == before["search"]
    assert after["saves"] == before["saves"]
    assert before["trending"] and after["trending"] == before["trending"]


def test_admin_import_is_authoritative_too(client, runner, accounts):
    headers = admin_headers(client, runner)
    assert client.post(f"{API}/admin/papers", json={"papers": [IMPORTED]}, headers=headers).status_code == 200
    bob = accounts.new()
    client.post(f"{API}/events", json={"events": [event("open", KEY, **REWRITE)]}, headers=bob["headers"])
    page = client.get(f"{API}/papers/{KEY}").get_json()
    assert (page["title"], page["authors"], page["keywords"]) == (
        IMPORTED["title"],
        IMPORTED["authors"],
        IMPORTED["keywords"],
    )
    assert page["references"] == IMPORTED["references"]
    bad_url = client.post(
        f"{API}/admin/papers", json={"papers": [{"key": "demo:x-paper", "url": "javascript:alert(1)"}]}, headers=headers
    )
    assert_error_shape(bad_url, 422)


def test_on_a_client_created_paper_a_client_only_fills_empty_fields(client, accounts):
    alice, bob = accounts.new(), accounts.new()
    client.post(f"{API}/events", json={"events": [event("open", KEY, title="First title")]}, headers=alice["headers"])
    client.post(f"{API}/events", json={"events": [event("open", KEY, **REWRITE)]}, headers=bob["headers"])
    page = client.get(f"{API}/papers/{KEY}").get_json()
    assert page["title"] == "First title"  # taken: not changed
    assert page["abstract"] == REWRITE["abstract"] and page["authors"] == REWRITE["authors"]  # empty: filled
    assert page["keywords"] == REWRITE["keywords"] and page["references"] == REWRITE["references"]
    assert page["url"] == "https://arxiv.org/abs/2401.04321"
    client.put(
        f"{API}/saves/{KEY}",
        json={
            "paper": {
                "abstract": "Other text.",
                "authors": ["Z"],
                "keywords": ["z"],
                "references": ["arxiv:2301.00001"],
            }
        },
        headers=alice["headers"],
    )
    assert client.get(f"{API}/papers/{KEY}").get_json() == page


def test_client_metadata_is_held_to_size_limits(client, accounts):
    user = accounts.new()
    too_long = {
        "title": "t" * (CLIENT_LIMITS.title + 1),
        "abstract": "a" * (CLIENT_LIMITS.abstract + 1),
        "authors": [f"Author {i}" for i in range(CLIENT_LIMITS.authors + 10)] + ["x" * 250],
        "keywords": ["k" * (CLIENT_LIMITS.keyword_length + 1)] + [f"kw{i}" for i in range(CLIENT_LIMITS.keywords + 5)],
        "references": [f"arxiv:2301.{i:05d}" for i in range(CLIENT_LIMITS.references + 50)],
    }
    body = client.post(f"{API}/events", json={"events": [event("open", KEY, **too_long)]}, headers=user["headers"])
    assert body.get_json()["accepted"] == 1
    page = client.get(f"{API}/papers/{KEY}").get_json()
    assert page["title"] == "" and page["abstract"] == ""  # a cut text would look whole: not stored at all
    assert page["authors"] == too_long["authors"][: CLIENT_LIMITS.authors]
    assert page["keywords"] == too_long["keywords"][1 : CLIENT_LIMITS.keywords + 1]
    assert page["references"] == too_long["references"][: CLIENT_LIMITS.references]


def test_a_client_never_sets_a_url_and_imports_set_only_http_urls(client, runner, accounts, tmp_path):
    user = accounts.new()
    demo = "demo:a-demo-paper"
    client.post(
        f"{API}/events",
        json={"events": [event("open", demo, title="Demo", url="https://evil.example/phish")]},
        headers=user["headers"],
    )
    assert client.get(f"{API}/papers/{demo}").get_json()["url"] is None
    import_via_cli(runner, tmp_path, [{"key": demo, "url": "https://example.org/demo"}])
    assert client.get(f"{API}/papers/{demo}").get_json()["url"] == "https://example.org/demo"
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"key": demo, "url": "javascript:alert(1)"}))
    result = runner.invoke(args=["import-papers", str(bad)])
    assert result.exit_code != 0 and "record 1" in result.output and "url" in result.output


def test_an_import_overrides_client_metadata_and_never_blanks(app, client, runner, accounts, tmp_path):
    user = accounts.new()
    client.post(
        f"{API}/events",
        json={"events": [event("open", KEY, title="Client title", abstract="Client abstract", keywords=["c"])]},
        headers=user["headers"],
    )
    import_via_cli(runner, tmp_path, [{"key": KEY, "title": "Imported title", "abstract": "", "keywords": ["i"]}])
    page = client.get(f"{API}/papers/{KEY}").get_json()
    assert (page["title"], page["abstract"], page["keywords"]) == ("Imported title", "Client abstract", ["i"])
    with app.app_context():
        assert db.session.scalar(select(Paper.provenance).where(Paper.key == KEY)) == "import"
    client.post(f"{API}/events", json={"events": [event("open", "arxiv:2401.04322")]}, headers=user["headers"])
    with app.app_context():
        assert db.session.scalar(select(Paper.provenance).where(Paper.key == "arxiv:2401.04322")) == "client"


@pytest.mark.parametrize(
    ("key", "stored", "shown"),
    [
        ("demo:old-row", "javascript:alert(1)", None),
        ("demo:old-row", "https://example.org/ok", "https://example.org/ok"),
        (KEY, "https://evil.example/", "https://arxiv.org/abs/2401.04321"),
    ],
)
def test_urls_stored_before_the_checks_are_never_served_unsafe(app, client, accounts, key, stored, shown):
    user = accounts.new()
    client.post(f"{API}/events", json={"events": [event("open", key, title="Old row")]}, headers=user["headers"])
    with app.app_context():
        db.session.execute(update(Paper).where(Paper.key == key).values(url=stored))
        db.session.commit()
    assert client.get(f"{API}/papers/{key}").get_json()["url"] == shown
    assert client.get(f"{API}/papers?q=old").get_json()["items"][0]["url"] == shown
