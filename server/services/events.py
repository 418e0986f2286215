"""Event batch ingestion: each event is validated, then stored, on its own.

Every event is validated fully before anything is written (an invalid one is rejected with its reasons). The
valid ones are written together in a savepoint; if the database still refuses some of them, they are written
one savepoint each, so that only the refused events are rejected and the rest of the batch is kept.
Idempotency lives in the unique (user, client event id) constraint, so retried and concurrent batches store
each event once.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from marshmallow import ValidationError
from sqlalchemy.orm import Session

from server.models import CHOICE_EVENTS, PROVENANCE_CLIENT, TRACKING_EVENTS, Interaction, User
from server.schemas import EventSchema
from server.services.event_fast import load_event
from server.services.papers import PaperMeta, fold_metas, upsert_papers
from server.services.sql import chunks, dialect_of, insert_on, lock_per_key, write_isolating_refusals
from server.services.state import apply_action
from server.services.trending_days import record_events

EVENTS_LOCK = 1  # lock namespace: one user's event batches
_event_schema = EventSchema()


@dataclass
class BatchResult:
    accepted: int = 0
    duplicates: int = 0
    dropped: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)


def ingest_events(session: Session, user: User, raw_events: list[Any]) -> BatchResult:
    result = BatchResult()
    valid: list[tuple[int, dict[str, Any]]] = []
    seen_ids: set[str] = set()
    for index, raw in enumerate(raw_events):
        if not isinstance(raw, dict):
            result.rejected.append({"index": index, "errors": {"_schema": ["An event must be a JSON object."]}})
            continue
        try:
            event = load_event(raw) or _event_schema.load(raw)
        except ValidationError as exc:
            result.rejected.append({"index": index, "errors": exc.normalized_messages()})
            continue
        event_id = str(event["id"])
        if event_id in seen_ids:
            result.duplicates += 1
            continue
        seen_ids.add(event_id)
        if user.tracking_paused and event["type"] in TRACKING_EVENTS:
            result.dropped += 1
            continue
        valid.append((index, event))
    if not valid:
        return result

    _store(session, user, valid, result)
    result.rejected.sort(key=lambda r: r["index"])
    return result


def _refusal(error: BaseException, what: str) -> dict[str, list[str]]:
    return {"_schema": [f"The database refused {what} ({type(error).__name__}); it was not stored."]}


def _store(session: Session, user: User, valid: list[tuple[int, dict[str, Any]]], result: BatchResult) -> None:
    """Write validated events in two steps, each isolating what the database refuses: their papers (in key
    order), then the log rows and state changes (in time order, so that state applies as it happened). Every
    writer takes rows in these same orders, and one user's batches are written one at a time, so concurrent
    batches wait for each other instead of deadlocking."""
    lock_per_key(session, EVENTS_LOCK, user.id)
    key_of = {index: event["paper"]["canonical_key"] for index, event in valid}
    metas = fold_metas((PaperMeta.from_payload(key_of[i], e["paper"]) for i, e in valid), PROVENANCE_CLIENT)

    def write_papers(keys: Sequence[str]) -> dict[str, int]:
        return upsert_papers(session, {key: metas[key] for key in keys}, PROVENANCE_CLIENT)

    written, refused_papers = write_isolating_refusals(session, sorted(metas), write_papers)
    paper_ids = {key: paper_id for ids in written for key, paper_id in ids.items()}
    refused_paper = dict(refused_papers)
    storable = []
    for index, event in valid:
        if key_of[index] in paper_ids:
            storable.append((index, event))
        else:
            result.rejected.append({"index": index, "errors": _refusal(refused_paper[key_of[index]], "its paper")})

    storable.sort(key=lambda item: (item[1]["occurred_at"], str(item[1]["id"])))
    written, refused = write_isolating_refusals(
        session, storable, lambda part: _store_events(session, user, part, paper_ids)
    )
    new_ids = set().union(*written)
    # Once per batch, after every savepoint: record_events takes the shared aggregate rows' locks in one sorted
    # order, which concurrent batches of other users must share to never deadlock (per-event savepoints would
    # take them in event order).
    record_events(
        session,
        (
            (paper_ids[e["paper"]["canonical_key"]], user.id, e["type"], e["occurred_at"])
            for _, e in storable
            if str(e["id"]) in new_ids
        ),
    )
    inserted = len(new_ids)
    result.accepted = inserted
    result.duplicates += len(storable) - len(refused) - inserted
    for (index, _), error in refused:
        result.rejected.append({"index": index, "errors": _refusal(error, "this event")})


@functools.cache
def _log_insert(dialect: str) -> Any:
    return (
        insert_on(dialect, Interaction.__table__)  # Core, not the ORM's bulk path: a third of the cost
        .on_conflict_do_nothing(index_elements=["user_id", "client_event_id"])
        .returning(Interaction.__table__.c.client_event_id)
    )


def _store_events(
    session: Session, user: User, events: Sequence[tuple[int, dict[str, Any]]], paper_ids: dict[str, int]
) -> set[str]:
    """Append events (in the given order) to the log and apply the state changes of the new ones; returns the
    ids of the events new here (idempotency: the unique user + client event id constraint)."""
    now = datetime.now(UTC)
    rows = [
        {
            "user_id": user.id,
            "paper_id": paper_ids[e["paper"]["canonical_key"]],
            "type": e["type"],
            "occurred_at": e["occurred_at"],
            "received_at": now,
            "client_event_id": str(e["id"]),
            "context": e["context"],
        }
        for _, e in events
    ]
    stmt = _log_insert(dialect_of(session))
    inserted: set[str] = set()
    for part in chunks(rows):
        inserted.update(session.scalars(stmt, part).all())
    for row in (r for r in rows if r["client_event_id"] in inserted):
        if row["type"] in CHOICE_EVENTS:
            apply_action(session, user.id, row["paper_id"], row["type"], row["occurred_at"])
    return inserted
