"""Atom feeds of a user's lists ("For you", "New for you", "Saved") behind a revocable feed token.

Feed readers fetch without cookies, so the URL itself authenticates: ``/feeds/<token>/<list>.atom``. A user has
at most one feed token. Its URL form is ``selector + verifier``: the selector is random and stored; the verifier
is an HMAC of the selector under the server's secret, so the URLs can be listed again without storing them. The
database keeps only the selector and a SHA-256 hash of the whole token, compared in constant time: a copy of
the database alone opens no feed. Rotating draws a new selector; URLs with the old one answer 404.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.db import immediate_writes
from server.models import FeedToken, Paper, User
from server.services.choices import saves_page
from server.services.recommendations import NEW_DAYS, recommend_for, recommend_new_for
from server.services.sql import insert_for

FEED_LISTS = {"for-you": "For you", "new": "New for you", "saved": "Saved"}
FEED_LIMIT = 50  # entries per feed
_SELECTOR_LENGTH = 16  # characters of token_urlsafe(12)
_VERIFIER_LENGTH = 32
TOKEN_LENGTH = _SELECTOR_LENGTH + _VERIFIER_LENGTH
_TOKEN_CHARS = re.compile(rf"[A-Za-z0-9_-]{{{TOKEN_LENGTH}}}")
# Compared against when no row has the selector, so an unknown token costs what a known one does.
_NO_HASH = "0" * 64


@dataclass(frozen=True)
class FeedEntry:
    paper: Paper
    reasons: list[str]
    updated: datetime  # when this entry last changed for the reader (a save: when it was saved)


@dataclass(frozen=True)
class Feed:
    name: str  # one of FEED_LISTS
    title: str
    user_id: int
    entries: list[FeedEntry]
    updated: datetime


def _verifier(selector: str) -> str:
    secret = current_app.config["SECRET_KEY"]
    key = secret if isinstance(secret, bytes) else str(secret).encode()
    mac = hmac.new(key, b"paperscout-feed\0" + selector.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode()[:_VERIFIER_LENGTH]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _token_of(row: FeedToken) -> str | None:
    """The URL token of a stored row, or None when it no longer matches (the server's secret changed)."""
    token = row.selector + _verifier(row.selector)
    return token if hmac.compare_digest(_hash(token), row.token_hash) else None


def _store(session: Session, user_id: int, *, replace: bool) -> None:
    selector = secrets.token_urlsafe(12)
    values = {
        "selector": selector,
        "token_hash": _hash(selector + _verifier(selector)),
        "created_at": datetime.now(UTC),
    }
    stmt = insert_for(session, FeedToken).values(user_id=user_id, **values)
    # A concurrent first listing may have stored one already: keep it (listing) or replace it (rotation).
    if replace:
        stmt = stmt.on_conflict_do_update(index_elements=["user_id"], set_=values)
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=["user_id"])
    session.execute(stmt)


def _row(session: Session, user_id: int) -> FeedToken | None:
    return session.scalar(
        select(FeedToken).where(FeedToken.user_id == user_id).execution_options(populate_existing=True)
    )


def feed_token(session: Session, user_id: int) -> str:
    """The user's feed token, created on first use (or replaced when the server's secret changed); committed."""
    row = _row(session, user_id)
    token = _token_of(row) if row is not None else None
    if token is not None:
        return token
    session.commit()  # ends the read: the write below takes SQLite's write lock up front
    with immediate_writes():
        _store(session, user_id, replace=row is not None)
        session.commit()
    row = _row(session, user_id)
    token = _token_of(row) if row is not None else None
    if token is None:
        raise RuntimeError("the feed token just stored does not verify")
    return token


def rotate_feed_token(session: Session, user_id: int) -> str:
    """Replace the user's feed token (URLs with the old one stop working); committed. Returns the new one."""
    _store(session, user_id, replace=True)
    session.commit()
    return feed_token(session, user_id)


def user_for_feed_token(session: Session, token: str) -> User | None:
    """The user whose feed token this is, or None (malformed, unknown, rotated away)."""
    if not isinstance(token, str) or not _TOKEN_CHARS.fullmatch(token):
        return None
    row = session.scalar(select(FeedToken).where(FeedToken.selector == token[:_SELECTOR_LENGTH]))
    if not hmac.compare_digest(_hash(token), row.token_hash if row is not None else _NO_HASH) or row is None:
        return None
    return session.get(User, row.user_id)


def build_feed(session: Session, user: User, name: str, *, limit: int = FEED_LIMIT) -> Feed:
    """The entries of one of the user's lists (FEED_LISTS), best or newest first."""
    if name not in FEED_LISTS:
        raise ValueError(f"unknown feed {name!r}")
    if name == "saved":
        page = saves_page(session, user.id, None, limit)
        entries = [FeedEntry(p, [f"You saved it on {s.saved_at:%Y-%m-%d}"], s.saved_at) for s, p in page.saves]
    else:
        ranked = (
            recommend_for(session, user, window="7d", limit=limit)
            if name == "for-you"
            else recommend_new_for(session, user, since=timedelta(days=NEW_DAYS), window="7d", limit=limit)
        )
        entries = [FeedEntry(i.paper, list(i.reasons), _paper_changed(i.paper)) for i in ranked.items]
    updated = max((e.updated for e in entries), default=user.created_at)
    return Feed(name, FEED_LISTS[name], user.id, entries, updated)


def _paper_changed(paper: Paper) -> datetime:
    # The paper's own last change, not the time of the request: an entry a reader has seen stays unchanged
    # from poll to poll unless the paper itself changed.
    return paper.updated_at or paper.created_at
