"""A reader's explicit choices made through the REST API (save, unsave, dismiss, undismiss), and their saves.

Each choice changes the current state (saves, dismissals) and is appended to the interaction log, as an event
sent by the extension would be, so that training sees it too; a choice that changes nothing (saving a saved
paper) is neither applied nor logged. Events sent in batches take the other road: server/services/events.py.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from server.models import EVENT_TYPES, PROVENANCE_CLIENT, Dismissal, Interaction, Paper, Save
from server.services.papers import PaperMeta, upsert_papers
from server.services.state import apply_action
from server.services.trending_days import record_events


def record_choice(session: Session, user_id: int, paper_id: int, choice: str, *, changes_state: bool) -> None:
    """Apply a choice made now and log it (an undismiss is not an event type: it only changes state), when it
    ``changes_state``; then commit, with whatever the caller wrote before in the same transaction."""
    if changes_state:
        now = datetime.now(UTC)
        apply_action(session, user_id, paper_id, choice, now)
        if choice in EVENT_TYPES:
            session.add(
                Interaction(
                    user_id=user_id,
                    paper_id=paper_id,
                    type=choice,
                    occurred_at=now,
                    received_at=now,
                    client_event_id=str(uuid.uuid4()),
                    context={"via": "api"},
                )
            )
            record_events(session, [(paper_id, user_id, choice, now)])
    session.commit()


def save(session: Session, user_id: int, meta: PaperMeta) -> tuple[Paper, Save]:
    """Save the paper ``meta`` describes (idempotent), creating it, or filling its empty fields as a client
    may (server/services/papers.py). Returns the paper and the save."""
    paper_id = upsert_papers(session, {meta.key: meta}, PROVENANCE_CLIENT)[meta.key]
    saved = session.get(Save, (user_id, paper_id)) is not None
    record_choice(session, user_id, paper_id, "save", changes_state=not saved)
    return session.get(Paper, paper_id), session.get(Save, (user_id, paper_id))


def unsave(session: Session, user_id: int, key: str) -> None:
    """Unsave a paper (idempotent; a paper not in the catalog is not saved either)."""
    paper_id = session.scalar(select(Paper.id).where(Paper.key == key))
    if paper_id is None:
        return
    saved = session.get(Save, (user_id, paper_id)) is not None
    if saved:
        record_choice(session, user_id, paper_id, "unsave", changes_state=True)


def dismiss(session: Session, user_id: int, paper: Paper) -> Dismissal:
    """Dismiss a paper (idempotent): it leaves the user's lists. Returns the dismissal."""
    dismissed = session.get(Dismissal, (user_id, paper.id)) is not None
    if not dismissed:
        record_choice(session, user_id, paper.id, "dismiss", changes_state=True)
    return session.get(Dismissal, (user_id, paper.id))


def undismiss(session: Session, user_id: int, paper: Paper) -> None:
    """Undo a dismissal (idempotent)."""
    dismissed = session.get(Dismissal, (user_id, paper.id)) is not None
    record_choice(session, user_id, paper.id, "undismiss", changes_state=dismissed)


@dataclass(frozen=True)
class SavesPage:
    saves: list[tuple[Save, Paper]]  # newest first
    next_after: tuple[datetime, int] | None  # (saved_at, paper id) of the last save when more follow


def saves_page(session: Session, user_id: int, after: tuple[datetime, int] | None, limit: int) -> SavesPage:
    """One page of the user's saves, newest first, starting after the (saved_at, paper id) ``after``."""
    query = (
        select(Save, Paper)
        .join(Paper, Paper.id == Save.paper_id)
        .where(Save.user_id == user_id)
        .order_by(Save.saved_at.desc(), Save.paper_id.desc())
        .limit(limit + 1)
    )
    if after:
        at, paper_id = after
        query = query.where(or_(Save.saved_at < at, and_(Save.saved_at == at, Save.paper_id < paper_id)))
    rows = [(save, paper) for save, paper in session.execute(query)]
    page = rows[:limit]
    last = page[-1][0] if len(rows) > len(page) else None
    return SavesPage(page, (last.saved_at, last.paper_id) if last is not None else None)
