"""Erasure reaches the models: once an account is deleted, no model keeps using that user's rows.

A model version keeps one row of saves per training user (for "N readers who saved ... also saved this"
reasons). ``DELETE /me`` records a ``user_erasures`` row in the transaction that deletes the account; from then
on every serving process builds a model without that user's row on its next check (the worker that handled
the request before it answers), and every kept version on disk is rewritten without it
(:func:`recommender.store.purge_users`). The next retrain does not see the user at all.

Erasure numbers are the ``user_erasures`` ids. Readers ask for "ids above the last one applied", which is only
safe if ids become visible in order: on PostgreSQL a sequence hands out ids at insert time while commits may
land in another order, so inserts are serialised by a table lock held to the end of the (short) transaction.
SQLite serialises writers anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from recommender import store
from server.db import plain_reads
from server.models import UserErasure

log = logging.getLogger(__name__)

Erasures = list[tuple[int, int]]


def record_erasure(session: Session, user_id: int) -> None:
    """Add the erasure of ``user_id`` to the session's transaction (call it last before the commit: on
    PostgreSQL it holds a lock on ``user_erasures`` until then)."""
    if session.get_bind().dialect.name == "postgresql":
        # conflicts with itself and with inserts, not with plain reads
        session.execute(text("LOCK TABLE user_erasures IN SHARE ROW EXCLUSIVE MODE"))
    session.add(UserErasure(user_id=user_id))
    session.flush()


def erasures_after(session: Session, through: int) -> Erasures:
    """``(erasure id, user id)`` of every erasure with an id above ``through``, oldest first."""
    rows = session.execute(
        select(UserErasure.id, UserErasure.user_id).where(UserErasure.id > through).order_by(UserErasure.id)
    )
    return [(int(number), int(user)) for number, user in rows]


def last_erasure(session: Session) -> int:
    """The highest erasure id so far (0 when none)."""
    return int(session.scalar(select(func.max(UserErasure.id))) or 0)


def reader(new_session: Callable[[], Session]) -> Callable[[int], Erasures]:
    """``erasures_after`` on a connection of its own, never waiting for a write lock its caller may hold."""

    def read(through: int) -> Erasures:
        with plain_reads(), new_session() as session:
            return erasures_after(session, through)

    return read


def purge_versions(root: Path, read: Callable[[int], Erasures]) -> list[str]:
    """Rewrite every kept model version under ``root`` without the rows of users erased since it was written
    (or last purged). Returns the versions rewritten."""
    marks = []
    for version in store.list_versions(root):
        try:
            marks.append(store.erased_through(root / store.VERSIONS / version))
        except (OSError, ValueError, KeyError):
            marks.append(0)  # unreadable mark: offer it every erasure, the purge itself decides
    if not marks:
        return []
    pending = read(min(marks))
    if not pending:
        return []
    rewritten = store.purge_users(root, pending)
    if rewritten:
        log.info("erasures up to %d applied to model versions %s", pending[-1][0], ", ".join(rewritten))
    return rewritten
