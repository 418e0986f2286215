"""Event batch ingestion: validate each event, upsert papers, append to the log idempotently, update state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from marshmallow import ValidationError
from sqlalchemy.orm import Session

from server.models import Interaction, User
from server.schemas import EventSchema
from server.services.papers import PaperMeta, upsert_papers
from server.services.sql import chunks, insert_for
from server.services.state import apply_action

STATE_EVENTS = ("save", "unsave", "dismiss")
TRACKING_EVENTS = ("open", "click")
_event_schema = EventSchema()


@dataclass
class BatchResult:
    accepted: int = 0
    duplicates: int = 0
    dropped: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)


def ingest_events(session: Session, user: User, raw_events: list[Any]) -> BatchResult:
    result = BatchResult()
    valid: list[dict[str, Any]] = []
    seen_ids: set[str] = set()
    for index, raw in enumerate(raw_events):
        if not isinstance(raw, dict):
            result.rejected.append({"index": index, "errors": {"_schema": ["An event must be a JSON object."]}})
            continue
        try:
            event = _event_schema.load(raw)
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
        valid.append(event)
    if not valid:
        return result

    metas: dict[str, PaperMeta] = {}
    for event in valid:
        meta = PaperMeta.from_payload(event["paper"]["canonical_key"], event["paper"])
        metas[meta.key] = metas[meta.key].merge(meta) if meta.key in metas else meta
    paper_ids = upsert_papers(session, metas)

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
        for e in valid
    ]
    # Idempotency lives in the unique (user, client event id) constraint, not in a read before the write.
    stmt = (
        insert_for(session, Interaction)
        .on_conflict_do_nothing(index_elements=["user_id", "client_event_id"])
        .returning(Interaction.client_event_id)
    )
    inserted: set[str] = set()
    for part in chunks(rows):
        inserted.update(session.scalars(stmt, part).all())
    result.accepted = len(inserted)
    result.duplicates += len(valid) - len(inserted)

    state_rows = sorted(
        (r for r in rows if r["type"] in STATE_EVENTS and r["client_event_id"] in inserted),
        key=lambda r: r["occurred_at"],
    )
    for row in state_rows:
        apply_action(session, user.id, row["paper_id"], row["type"], row["occurred_at"])
    return result
