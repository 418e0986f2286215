"""Current per-user state (saves, dismissals) derived from save/unsave/dismiss actions, what a user did with one
paper before (the "seen" state), and every paper a user already knows (never recommended to them)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from server.models import TRACKING_EVENTS, Dismissal, Interaction, Paper, Save
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


@dataclass(frozen=True)
class Marks:
    """Which papers (by id) one user has saved and dismissed, among the papers a request shows."""

    saved: frozenset[int] = frozenset()
    dismissed: frozenset[int] = frozenset()


def marks_for(session: Session, user_id: int | None, paper_ids: Iterable[int]) -> Marks | None:
    """The user's marks on these papers; None for a request without a user (lists then show no marks)."""
    if user_id is None:
        return None
    ids = list(paper_ids)
    if not ids:
        return Marks()
    saved = session.scalars(select(Save.paper_id).where(Save.user_id == user_id, Save.paper_id.in_(ids)))
    dismissed = session.scalars(
        select(Dismissal.paper_id).where(Dismissal.user_id == user_id, Dismissal.paper_id.in_(ids))
    )
    return Marks(frozenset(saved), frozenset(dismissed))


@dataclass(frozen=True)
class Seen:
    """What one user did with one paper before a moment: the reader's "have I seen this?" on any site."""

    last_opened_at: datetime | None  # the latest open or click
    times_opened: int  # open and click events (a click from a list usually opens the page too)
    saved_at: datetime | None  # when the current save was made (None: not saved now)


def seen_before(session: Session, user_id: int, paper_id: int | None, before: datetime) -> Seen:
    """The user's opens of the paper before ``before`` and its current save; a paper not in the catalog
    (``paper_id`` None) was never seen."""
    if paper_id is None:
        return Seen(None, 0, None)
    last, count = session.execute(
        select(func.max(Interaction.occurred_at), func.count(Interaction.id)).where(
            Interaction.user_id == user_id,
            Interaction.paper_id == paper_id,
            Interaction.type.in_(TRACKING_EVENTS),
            Interaction.occurred_at < before,
        )
    ).one()
    saved_at = session.scalar(select(Save.saved_at).where(Save.user_id == user_id, Save.paper_id == paper_id))
    return Seen(last, int(count), saved_at)


# Log rows that mean the reader has met the paper: they opened it, or saved it (and maybe unsaved it since).
_KNOWN_EVENTS = (*TRACKING_EVENTS, "save", "unsave")


def known_paper_keys(session: Session, user_id: int) -> set[str]:
    """Keys of every paper the user has opened or saved at any time, saves now or has dismissed, read from the
    database now: none of them is recommended to the user (For you, New for you, their feeds and digest), however
    recent the event and whether or not the model has seen it."""
    logged = (
        select(Paper.key)
        .join(Interaction, Interaction.paper_id == Paper.id)
        .where(Interaction.user_id == user_id, Interaction.type.in_(_KNOWN_EVENTS))
    )
    saved = select(Paper.key).join(Save, Save.paper_id == Paper.id).where(Save.user_id == user_id)
    dismissed = select(Paper.key).join(Dismissal, Dismissal.paper_id == Paper.id).where(Dismissal.user_id == user_id)
    return set(session.scalars(logged.union(saved, dismissed)))
