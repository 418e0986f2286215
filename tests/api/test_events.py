import json
import random
import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from server.db import db
from server.models import Interaction, Paper
from tests.api.helpers import assert_error_shape, database_refuses, event

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


def test_client_metadata_only_fills_empty_fields(app, client, accounts):
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
    # a client never adds to a field that already has a value (issue 12: no shared-catalog rewrites)
    assert paper["keywords"] == ["graphs"] and paper["title"] == "Title"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Paper)) == 1


def post_raw(client, headers, text: str):
    """POST a JSON text as is (json= would refuse lone surrogates; a client's JSON may hold "\\ud800")."""
    return client.post(f"{API}/events", data=text, headers={**headers, "Content-Type": "application/json"})


POISON = [
    ("NUL in a title", {"title": "a\x00b"}, ["paper", "title"], "Must not contain NUL (U+0000) characters."),
    (
        "NUL in an author",
        {"authors": ["x\x00"]},
        ["paper", "authors", "0"],
        "Must not contain NUL (U+0000) characters.",
    ),
    ("lone surrogate", {"title": "\ud800"}, ["paper", "title"], "a lone surrogate"),
    ("DOI longer than the key column", {"key": "10.1234/" + "a" * 293}, ["paper", "key"], "longer than 300"),
    ("NUL in a DOI", {"key": "doi:10.1234/a\x00b"}, ["paper", "key"], "NUL"),
]


@pytest.mark.parametrize(("label", "paper", "path", "message"), POISON, ids=[p[0] for p in POISON])
def test_a_poison_event_is_rejected_alone_with_its_reason(app, client, accounts, label, paper, path, message):
    user = accounts.new()
    poison = event("save", "arxiv:2401.00666")
    poison["paper"].update(paper)
    good = [event("open", "arxiv:2401.00001"), event("save", "arxiv:2401.00002")]
    # ensure_ascii keeps a lone surrogate as the "\ud800" escape a JavaScript client would send
    response = post_raw(client, user["headers"], json.dumps({"events": [good[0], poison, good[1]]}))
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["accepted"], body["duplicates"]) == (2, 0)
    assert [r["index"] for r in body["rejected"]] == [1]
    errors = body["rejected"][0]["errors"]
    for step in path:
        errors = errors[step]
    assert any(message in m for m in errors), errors
    assert count_interactions(app) == 2
    assert [s["paper"]["key"] for s in client.get(f"{API}/saves", headers=user["headers"]).get_json()["items"]] == [
        "arxiv:2401.00002"
    ]


def test_null_and_other_non_objects_are_rejected_one_by_one(app, client, accounts):
    user = accounts.new()
    body = client.post(f"{API}/events", json={"events": [None]}, headers=user["headers"]).get_json()
    assert body == {"accepted": 0, "duplicates": 0, "dropped": 0, "rejected": [{"index": 0, "errors": ANY_SCHEMA}]}
    body = client.post(f"{API}/events", json={"events": [None, event(), [], None]}, headers=user["headers"]).get_json()
    assert body["accepted"] == 1 and [r["index"] for r in body["rejected"]] == [0, 2, 3]
    assert count_interactions(app) == 1


class _AnySchemaError:
    def __eq__(self, other):
        return isinstance(other, dict) and list(other) == ["_schema"]


ANY_SCHEMA = _AnySchemaError()


@contextmanager
def database_refuses_poison(app):
    """Papers titled, and events with a context, holding "poison" are refused by the database itself."""
    with database_refuses(app, "papers", "title"), database_refuses(app, "interactions", "context"):
        yield


def test_an_event_the_database_refuses_is_rejected_alone(app, client, accounts):
    """Validation cannot foresee every refusal: the batch is written in a savepoint and, when the database
    refuses it, paper by paper and event by event, so the refused events are rejected and the others stored."""
    user = accounts.new()
    batch = [
        event("save", "arxiv:2401.00001", minutes_ago=3),
        event("open", "arxiv:2401.00002", title="A poison title", minutes_ago=2),
        event("save", "arxiv:2401.00003", minutes_ago=1),
        {**event("open", "arxiv:2401.00003", minutes_ago=0.8), "context": {"list": "poison"}},
        event("unsave", "arxiv:2401.00001", minutes_ago=0.5),
    ]
    with database_refuses_poison(app):
        first = client.post(f"{API}/events", json={"events": batch}, headers=user["headers"]).get_json()
        again = client.post(f"{API}/events", json={"events": batch}, headers=user["headers"]).get_json()
    assert (first["accepted"], first["duplicates"]) == (3, 0)
    assert [r["index"] for r in first["rejected"]] == [1, 3]
    assert "database refused its paper" in first["rejected"][0]["errors"]["_schema"][0]
    assert "database refused this event" in first["rejected"][1]["errors"]["_schema"][0]
    assert "poison" not in json.dumps(first["rejected"])  # no database message, no parameters
    assert (again["accepted"], again["duplicates"], [r["index"] for r in again["rejected"]]) == (0, 3, [1, 3])
    assert count_interactions(app) == 3
    saves = client.get(f"{API}/saves", headers=user["headers"]).get_json()["items"]
    assert [s["paper"]["key"] for s in saves] == ["arxiv:2401.00003"]  # the unsave applied after its save
    assert_error_shape(client.get(f"{API}/papers/arxiv:2401.00002"), 404)
    # without the refusal the same events are stored: they were rejected for the database's reason only
    fixed = client.post(f"{API}/events", json={"events": [batch[1], batch[3]]}, headers=user["headers"]).get_json()
    assert fixed["accepted"] == 2


@contextmanager
def serve(app):
    """The app behind a real threaded HTTP server on a free port: each request gets its own thread and session."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}{API}"
    finally:
        server.shutdown()
        thread.join()


def post_batch(base_url: str, token: str, events: list[dict]) -> dict:
    request = urllib.request.Request(
        f"{base_url}/events",
        data=json.dumps({"events": events}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200
        return json.loads(response.read())


@pytest.mark.parametrize("refusing", [False, True], ids=["bulk-write", "per-event-write"])
def test_concurrent_clients_store_each_event_exactly_once(app, accounts, refusing):
    """Several clients of two users post overlapping batches at once, each batch with a duplicate inside and
    each sent twice (a retry): every event id is stored once and counted as accepted exactly once. With
    `refusing`, every batch also holds events the database refuses, so the batches take the per-paper and
    per-event write paths."""
    users = [accounts.new() for _ in range(2)]
    rng = random.Random(12)
    keys = [f"arxiv:2402.{i:05d}" for i in range(8)]  # papers shared by both users: concurrent upserts
    pools = {
        u["token"]: [event(rng.choice(["open", "save", "unsave"]), rng.choice(keys)) for _ in range(40)] for u in users
    }
    poison = {  # one refused for its paper, one for its own row
        u["token"]: [
            event("open", "arxiv:2402.09999", title="poison pill"),
            {**event("click", keys[0]), "context": {"list": "poison"}},
        ]
        for u in users
    }
    plans = []  # (token, batches) per client; 3 clients per user, each sending every event at least once overall
    for token, pool in pools.items():
        for client_no in range(3):
            batches = []
            for start in range(client_no * 4, len(pool), 12):
                batch = pool[start : start + 12] + [pool[rng.randrange(len(pool))]]  # overlaps and a duplicate
                batch.append(batch[0])
                if refusing:
                    for refused in poison[token]:
                        batch.insert(rng.randrange(len(batch)), refused)
                batches.append(batch)
            plans.append((token, batches))
    responses: dict[str, list[dict]] = {token: [] for token in pools}
    lock = threading.Lock()

    def run(token: str, batches: list[list[dict]]) -> None:
        for batch in batches:
            for _attempt in range(2):  # the retry of a batch whose answer was lost
                body = post_batch(base_url, token, batch)
                with lock:
                    responses[token].append((batch, body))

    with database_refuses_poison(app), serve(app) as base_url:
        with ThreadPoolExecutor(max_workers=len(plans)) as pool_executor:
            for future in [pool_executor.submit(run, token, batches) for token, batches in plans]:
                future.result()

    with app.app_context():
        stored = db.session.execute(select(Interaction.user_id, Interaction.client_event_id)).all()
    for user in users:
        token = user["token"]
        expected = {e["id"] for e in pools[token]}
        mine = [cid for uid, cid in stored if uid == user["id"]]
        assert len(mine) == len(set(mine)) == len(expected) and set(mine) == expected
        assert sum(body["accepted"] for _, body in responses[token]) == len(expected)
        for batch, body in responses[token]:
            refused = sorted(batch[r["index"]]["id"] for r in body["rejected"])
            assert refused == (sorted(e["id"] for e in poison[token]) if refusing else []), body
            assert body["accepted"] + body["duplicates"] + len(body["rejected"]) == len(batch)
