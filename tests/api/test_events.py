import pytest
from sqlalchemy import func, select

from server.db import db
from server.models import Interaction, Paper
from tests.api.helpers import assert_error_shape, event

API = "/api/v1"


def count_interactions(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Interaction))


def test_batch_is_stored_and_retry_counts_once(app, client, accounts):
    user = accounts.new()
    batch = [
        event("open", "https://arxiv.org/abs/2401.01234v2", title="Attention", authors=["A. B."]),
        event("save", "arxiv:2401.01234"),
        event("open", "https://openreview.net/forum?id=XyZ1234", title="An OpenReview paper"),
    ]
    first = client.post(f"{API}/events", json={"events": batch}, headers=user["headers"])
    assert first.status_code == 200
    assert first.get_json() == {"accepted": 3, "duplicates": 0, "dropped": 0, "rejected": []}
    again = client.post(f"{API}/events", json={"events": batch}, headers=user["headers"]).get_json()
    assert again == {"accepted": 0, "duplicates": 3, "dropped": 0, "rejected": []}
    assert count_interactions(app) == 3
    saves = client.get(f"{API}/saves", headers=user["headers"]).get_json()["items"]
    assert [s["paper"]["key"] for s in saves] == ["arxiv:2401.01234"]
    assert saves[0]["paper"]["title"] == "Attention"


def test_same_event_id_from_two_users_is_two_events(app, client, accounts):
    alice, bob = accounts.new(), accounts.new()
    shared = event("open")
    for user in (alice, bob):
        assert (
            client.post(f"{API}/events", json={"events": [shared]}, headers=user["headers"]).get_json()["accepted"] == 1
        )
    assert count_interactions(app) == 2


def test_duplicate_ids_within_one_batch(app, client, accounts):
    user = accounts.new()
    one = event("open")
    body = client.post(f"{API}/events", json={"events": [one, dict(one)]}, headers=user["headers"]).get_json()
    assert (body["accepted"], body["duplicates"]) == (1, 1)


BAD_EVENTS = [
    ({"type": "open", "paper": {"key": "arxiv:2401.01234"}, "occurred_at": "2026-01-01T00:00:00Z"}, "id"),
    ({"id": "not-a-uuid"}, "id"),
    ({"type": "like"}, "type"),
    ({"paper": {"key": "not a key"}}, "paper"),
    ({"paper": {"url": "https://example.com/blog"}}, "paper"),
    ({"paper": {}}, "paper"),
    ({"paper": {"key": "arxiv:2401.01234", "authors": "Someone"}}, "paper"),
    ({"paper": {"key": "arxiv:2401.01234", "extra": 1}}, "paper"),
    ({"occurred_at": "yesterday"}, "occurred_at"),
    ({"occurred_at": "2999-01-01T00:00:00Z"}, "occurred_at"),
    ({"context": "text"}, "context"),
    ({"surprise": True}, "surprise"),
]


@pytest.mark.parametrize(("patch", "field"), BAD_EVENTS)
def test_one_bad_event_rejects_only_itself(app, client, accounts, patch, field):
    user = accounts.new()
    bad = {**event("open"), **patch}
    if "id" not in patch and field == "id":
        bad.pop("id")
    body = client.post(
        f"{API}/events", json={"events": [event("open"), bad, event("save")]}, headers=user["headers"]
    ).get_json()
    assert body["accepted"] == 2
    assert [r["index"] for r in body["rejected"]] == [1]
    assert field in body["rejected"][0]["errors"]
    assert count_interactions(app) == 2


def test_non_object_event_is_rejected_alone(client, accounts):
    user = accounts.new()
    body = client.post(f"{API}/events", json={"events": [event(), 42, "x"]}, headers=user["headers"]).get_json()
    assert body["accepted"] == 1 and [r["index"] for r in body["rejected"]] == [1, 2]


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"events": []}, 422),
        ({"events": "nope"}, 422),
        ({}, 422),
        ({"events": [], "extra": 1}, 422),
        ([], 422),
    ],
)
def test_bad_batches(client, accounts, payload, status):
    user = accounts.new()
    assert_error_shape(client.post(f"{API}/events", json=payload, headers=user["headers"]), status)


def test_oversize_batch_rejected_whole(app, client, accounts):
    user = accounts.new()
    body = assert_error_shape(
        client.post(f"{API}/events", json={"events": [event() for _ in range(501)]}, headers=user["headers"]), 422
    )
    assert "events" in body["errors"]["json"]
    assert count_interactions(app) == 0


def test_malformed_json(client, accounts):
    user = accounts.new()
    response = client.post(
        f"{API}/events", data=b'{"events": [', headers={**user["headers"], "Content-Type": "application/json"}
    )
    assert_error_shape(response, 400)


def test_body_over_max_content_length_is_413(client, accounts):
    user = accounts.new()
    huge = b'{"events": ["' + b"x" * (5 * 1024 * 1024) + b'"]}'
    response = client.post(f"{API}/events", data=huge, headers={**user["headers"], "Content-Type": "application/json"})
    assert_error_shape(response, 413)


def test_events_require_auth(client):
    assert_error_shape(client.post(f"{API}/events", json={"events": [event()]}), 401)


def test_paused_tracking_drops_opens_but_keeps_saves(app, client, accounts):
    user = accounts.new()
    assert (
        client.put(f"{API}/me/tracking", json={"paused": True}, headers=user["headers"]).get_json()["tracking_paused"]
        is True
    )
    body = client.post(
        f"{API}/events", json={"events": [event("open"), event("click"), event("save")]}, headers=user["headers"]
    ).get_json()
    assert (body["accepted"], body["dropped"]) == (1, 2)
    assert len(client.get(f"{API}/saves", headers=user["headers"]).get_json()["items"]) == 1
    client.put(f"{API}/me/tracking", json={"paused": False}, headers=user["headers"])
    assert (
        client.post(f"{API}/events", json={"events": [event("open")]}, headers=user["headers"]).get_json()["accepted"]
        == 1
    )


def test_unsave_and_dismiss_events_update_state_in_time_order(client, accounts):
    user = accounts.new()
    key = "arxiv:2401.05678"
    batch = [
        event("unsave", key, minutes_ago=1),
        event("save", key, minutes_ago=5),
        event("dismiss", "arxiv:2402.00001"),
    ]
    client.post(f"{API}/events", json={"events": batch}, headers=user["headers"])
    assert client.get(f"{API}/saves", headers=user["headers"]).get_json()["items"] == []
    paper = client.get(f"{API}/papers/arxiv:2402.00001", headers=user["headers"]).get_json()
    assert paper["dismissed"] is True


def test_metadata_upsert_keeps_richest(app, client, accounts):
    user = accounts.new()
    key = "arxiv:2403.00001"
    client.post(
        f"{API}/events",
        json={
            "events": [
                event("open", key, title="Title", abstract="A long abstract.", authors=["A", "B"], keywords=["graphs"])
            ]
        },
        headers=user["headers"],
    )
    client.post(
        f"{API}/events",
        json={"events": [event("open", key, title="", abstract="", authors=[], keywords=["networks"])]},
        headers=user["headers"],
    )
    paper = client.get(f"{API}/papers/{key}").get_json()
    assert paper["abstract"] == "A long abstract." and paper["authors"] == ["A", "B"]
    assert paper["keywords"] == ["graphs", "networks"] and paper["title"] == "Title"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Paper)) == 1
