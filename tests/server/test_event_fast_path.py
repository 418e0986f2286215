"""The event fast path returns exactly what EventSchema loads, or defers to it (never rejects on its own)."""

import copy
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from marshmallow import ValidationError

from server.schemas import EventSchema
from server.services.event_fast import load_event

NOW = datetime.now(UTC)
KEY_ONLY = {"id": str(uuid.uuid4()), "type": "open", "occurred_at": NOW.isoformat(), "paper": {"key": "2401.01234"}}
EXTENSION = {
    "id": str(uuid.uuid4()),
    "type": "save",
    "occurred_at": "2026-01-02T03:04:05.678Z",
    "paper": {
        "key": "arxiv:2401.01234v2",
        "url": "https://arxiv.org/abs/2401.01234v2",
        "title": "A title",
        "abstract": "Some words. " * 50,
        "authors": ["A. Author", "B. Author"],
        "keywords": ["graphs"],
        "published_at": "2024-01-02",
        "source": "arxiv",
    },
    "context": {"surface": "popup", "rank": 3, "score": 0.5, "pinned": False},
}
URL_ONLY = {
    "id": uuid.uuid4().hex.upper(),
    "type": "click",
    "occurred_at": "2025-05-05",
    "paper": {"url": "https://openreview.net/forum?id=abc123"},
}

# (path, value): a field set to another value; a value of DELETE removes the field
DELETE = object()
MUTATIONS = [
    (("id",), "not-a-uuid"),
    (("id",), 12),
    (("id",), "{12345678-1234-5678-1234-567812345678}"),
    (("type",), "read"),
    (("type",), None),
    (("occurred_at",), (NOW + timedelta(days=2)).isoformat()),
    (("occurred_at",), "0999-01-01"),
    (("occurred_at",), "2024-13-01"),
    (("occurred_at",), " 2024-01-01T00:00:00+05:00 "),
    (("occurred_at",), 1700000000),
    (("context",), {"nested": {"a": 1}}),
    (("context",), {"k" * 51: 1}),
    (("context",), {f"k{i}": i for i in range(21)}),
    (("context",), {"big": 2**64}),
    (("context",), {"nan": float("nan")}),
    (("context",), {"null": None}),
    (("context",), {"nul": "a\x00b"}),
    (("context",), []),
    (("context",), None),
    (("extra",), 1),
    (("paper",), "2401.01234"),
    (("paper", "key"), ""),
    (("paper", "key"), "not a key at all"),
    (("paper", "key"), "x" * 3000),
    (("paper", "key"), DELETE),
    (("paper", "url"), "ftp://example.org/x"),
    (("paper", "url"), "https://arxiv.org/abs/2401.01234"),
    (("paper", "title"), "t" * 1001),
    (("paper", "title"), "\ud800"),
    (("paper", "title"), None),
    (("paper", "abstract"), 5),
    (("paper", "authors"), ["a"] * 501),
    (("paper", "authors"), ["a" * 301]),
    (("paper", "authors"), "A. Author"),
    (("paper", "keywords"), [1]),
    (("paper", "published_at"), None),
    (("paper", "published_at"), "yesterday"),
    (("paper", "source"), "s" * 41),
    (("paper", "references"), ["2401.00001"]),
    (("paper", "references"), []),
    (("paper", "unknown"), "x"),
]


def mutated(event: dict, path: tuple, value: object) -> dict:
    out = copy.deepcopy(event)
    target = out
    for name in path[:-1]:
        if not isinstance(target.get(name), dict):
            return out
        target = target[name]
    if value is DELETE:
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value
    return out


def schema_load(raw: dict) -> dict | None:
    try:
        return EventSchema().load(raw)
    except ValidationError:
        return None


@pytest.mark.parametrize("base", [KEY_ONLY, EXTENSION, URL_ONLY], ids=["key", "extension", "url"])
def test_fast_path_takes_the_events_clients_send(base):
    fast = load_event(copy.deepcopy(base))
    assert fast is not None
    assert fast == EventSchema().load(copy.deepcopy(base))


@pytest.mark.parametrize("base", [KEY_ONLY, EXTENSION, URL_ONLY], ids=["key", "extension", "url"])
@pytest.mark.parametrize(("path", "value"), MUTATIONS, ids=[f"{'.'.join(p)}-{i}" for i, (p, _) in enumerate(MUTATIONS)])
def test_fast_path_agrees_with_the_schema_or_defers(base, path, value):
    raw = mutated(base, path, value)
    fast = load_event(copy.deepcopy(raw))
    if fast is not None:
        assert fast == schema_load(copy.deepcopy(raw))
