"""Current per-user state (saves, dismissals) derived from save/unsave/dismiss actions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from server.models import Dismissal, Interaction, Save
from server.services.sql import insert_for


def apply_action(session: Session, user_id: int, paper_id: int, action: str, at: datetime) -> None:
    """Apply one state-changing action; an action older than the current state does not override it."""
    if action == "save":
        stmt = insert_for(session, Save).values(user_id=user_id, paper_id=paper_id, saved_at=at)
        session.execute(stmt.on_conflict_do_nothing(index_elements=["user_id", "paper_id"]))
        # Saving a paper is the opposite of dismissing it.
        session.execute(
            delete(Dismissal).where(
                Dismissal.user_id == user_id, Dismissal.paper_id == paper_id, Dismissal.dismissed_at <= at
            )
        )
    elif action == "unsave":
        session.execute(delete(Save).where(Save.user_id == user_id, Save.paper_id == paper_id, Save.saved_at <= at))
    elif action == "dismiss":
        stmt = insert_for(session, Dismissal).values(user_id=user_id, paper_id=paper_id, dismissed_at=at)
        session.execute(stmt.on_conflict_do_nothing(index_elements=["user_id", "paper_id"]))
    elif action == "undismiss":
        session.execute(delete(Dismissal).where(Dismissal.user_id == user_id, Dismissal.paper_id == paper_id))


def log_interaction(session: Session, user_id: int, paper_id: int, kind: str, context: dict | None = None) -> None:
    """Append a server-originated interaction (REST save/unsave/dismiss) so training sees it too."""
    session.add(
        Interaction(
            user_id=user_id,
            paper_id=paper_id,
            type=kind,
            occurred_at=datetime.now(UTC),
            received_at=datetime.now(UTC),
            client_event_id=str(uuid.uuid4()),
            context=context or {"via": "api"},
        )
    )


def saved_and_dismissed(session: Session, user_id: int, paper_ids: list[int]) -> tuple[set[int], set[int]]:
    if not paper_ids:
        return set(), set()
    saved = set(session.scalars(select(Save.paper_id).where(Save.user_id == user_id, Save.paper_id.in_(paper_ids))))
    dismissed = set(
        session.scalars(
            select(Dismissal.paper_id).where(Dismissal.user_id == user_id, Dismissal.paper_id.in_(paper_ids))
        )
    )
    return saved, dismissed
