"""A fast path through event validation for the events the extension sends.

Loading an event through marshmallow's ``EventSchema`` was about a third of the cost of a batch (docs/performance.md
"Event ingest"). :func:`load_event` checks the common shape directly, with the same helpers the schema's fields use
(``text_problem``, ``parse_datetime``, ``is_http_url``, ``canonical_key``), and returns exactly what
``EventSchema().load`` would. Anything it does not vouch for (a nested context, citations, a value of another type,
an invalid or out-of-range value) returns None, and the schema decides, with its usual errors: an event is never
rejected here, so the rejection semantics and the error shape are the schema's alone. A test compares both on
valid and broken events.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from server.fields import MAX_ROW_ID, is_http_url, parse_datetime, text_problem
from server.keys import MAX_RAW_KEY_LENGTH, InvalidKey, canonical_key
from server.models import EVENT_TYPES

_REQUIRED = frozenset({"id", "type", "paper", "occurred_at"})
_EVENT_FIELDS = _REQUIRED | {"context"}
# PaperMetaSchema's fields: maximum lengths of the text ones, (item length, items) of the lists
_TEXTS = {"title": 1000, "abstract": 20000, "source": 40}
_LISTS = {"authors": (300, 500), "keywords": (100, 100)}
_PAPER_FIELDS = frozenset({"key", "url", "published_at", "references", *_TEXTS, *_LISTS})
_TYPES = frozenset(EVENT_TYPES)


def load_event(raw: dict[str, Any]) -> dict[str, Any] | None:
    """``EventSchema().load(raw)`` for a plain valid event; None when the schema must decide."""
    if not (_REQUIRED <= raw.keys() <= _EVENT_FIELDS):
        return None
    context = raw.get("context")
    if context is not None and not _flat_context(context):
        return None
    ident, kind, when, paper = raw["id"], raw["type"], raw["occurred_at"], raw["paper"]
    if type(ident) is not str or type(kind) is not str or kind not in _TYPES or type(paper) is not dict:
        return None
    occurred = _datetime(when)
    if occurred is None or occurred > datetime.now(UTC) + timedelta(days=1):
        return None
    try:
        event_id = uuid.UUID(ident)
    except ValueError:
        return None
    meta = _paper(paper)
    if meta is None:
        return None
    return {
        "id": event_id,
        "type": kind,
        "paper": meta,
        "occurred_at": occurred,
        "context": None if context is None else dict(context),
    }


def _paper(paper: dict[str, Any]) -> dict[str, Any] | None:
    if not paper.keys() <= _PAPER_FIELDS or paper.get("references", []) != []:
        return None
    out: dict[str, Any] = {"references": [], "published_at": None}
    for name in ("key", "url"):
        if name in paper:
            value = paper[name]
            if not _text(value, MAX_RAW_KEY_LENGTH) or not value or (name == "url" and not is_http_url(value)):
                return None
            out[name] = value
    for name, limit in _TEXTS.items():
        value = paper.get(name, "")
        if not _text(value, limit):
            return None
        out[name] = value
    for name, (limit, items) in _LISTS.items():
        values = paper.get(name, [])
        if type(values) is not list or len(values) > items or not all(_text(v, limit) for v in values):
            return None
        out[name] = list(values)
    if paper.get("published_at") is not None:
        out["published_at"] = _datetime(paper["published_at"])
        if out["published_at"] is None:
            return None
    raw = out.get("key") or out.get("url")
    if not raw:
        return None
    try:
        out["canonical_key"] = canonical_key(raw)
    except InvalidKey:
        return None
    return out


def _flat_context(context: object) -> bool:
    """A context of at most 20 entries whose values are JSON scalars the schema accepts as they are."""
    if type(context) is not dict or len(context) > 20:
        return False
    for key, value in context.items():
        if not _text(key, 50):
            return False
        kind = type(value)
        if kind is str:
            ok = _text(value, 1000)
        elif kind is int:
            ok = abs(value) <= MAX_ROW_ID
        elif kind is float:
            ok = math.isfinite(value)
        else:
            ok = kind is bool  # a null value is refused by the schema
        if not ok:
            return False
    return True


def _text(value: object, limit: int) -> bool:
    return type(value) is str and len(value) <= limit and text_problem(value) is None


def _datetime(value: object) -> datetime | None:
    if type(value) is not str or len(value) > 40:
        return None
    try:
        return parse_datetime(value)
    except ValueError:
        return None
