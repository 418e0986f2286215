"""Reading the paper catalog: papers by key or id without a query per paper, one paper, and search."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from server.fields import is_http_url
from server.keys import default_url
from server.models import Paper
from server.services.sql import chunks

MAX_SEARCH_TERMS = 8


def papers_by_id(session: Session, ids: Iterable[int]) -> dict[int, Paper]:
    wanted = list(dict.fromkeys(int(i) for i in ids))
    out: dict[int, Paper] = {}
    for part in chunks(wanted):
        out.update({p.id: p for p in session.scalars(select(Paper).where(Paper.id.in_(part)))})
    return out


def papers_by_key(session: Session, keys: Iterable[str]) -> dict[str, Paper]:
    wanted = list(dict.fromkeys(keys))
    out: dict[str, Paper] = {}
    for part in chunks(wanted):
        out.update({p.key: p for p in session.scalars(select(Paper).where(Paper.key.in_(part)))})
    return out


def paper_by_key(session: Session, key: str) -> Paper | None:
    """The paper with this canonical key, if it is in the catalog."""
    return session.scalar(select(Paper).where(Paper.key == key))


def search_papers(session: Session, text: str, limit: int) -> list[Paper]:
    """The newest ``limit`` papers whose title or abstract holds every word of ``text`` (case-insensitive, at
    most MAX_SEARCH_TERMS words), those with more of the words in their title first; without words, the newest
    ``limit`` papers."""
    query = select(Paper)
    terms = [t for t in text.lower().split() if t][:MAX_SEARCH_TERMS]
    for term in terms:
        pattern = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(
                func.lower(Paper.title).like(pattern, escape="\\"),
                func.lower(Paper.abstract).like(pattern, escape="\\"),
            )
        )
    query = query.order_by(Paper.created_at.desc(), Paper.id.desc()).limit(limit)
    papers = list(session.scalars(query))
    if terms:
        # Title matches first: a cheap relevance order over at most `limit` rows.
        papers.sort(key=lambda p: -sum(t in p.title.lower() for t in terms))
    return papers


def newest_papers(session: Session, n: int, exclude: set[str]) -> list[Paper]:
    """The ``n`` newest papers of the catalog whose keys are not in ``exclude``."""
    rows = session.scalars(select(Paper).order_by(Paper.created_at.desc(), Paper.id.desc()).limit(n + len(exclude)))
    return [p for p in rows if p.key not in exclude][:n]


WINDOW_LIMIT = 2000


def papers_in_window(session: Session, since: datetime, limit: int = WINDOW_LIMIT) -> dict[str, Paper]:
    """Key -> paper for the newest ``limit`` papers published or announced at or after ``since``, newest first
    (by announcement, else publication: a paper is new on the day the daily feed announces it)."""
    appeared = func.coalesce(Paper.announced_at, Paper.published_at)
    query = (
        select(Paper)
        .where(or_(Paper.published_at >= since, Paper.announced_at >= since))
        .order_by(appeared.desc(), Paper.id.desc())
        .limit(limit)
    )
    return {p.key: p for p in session.scalars(query)}


def shown_url(key: str, stored: str | None) -> str | None:
    """The URL readers are sent to: the canonical page for a known site, else the stored one if it is http(s).
    (Rows written before URLs were checked may hold anything.)"""
    return default_url(key) or (stored if stored and is_http_url(stored) else None)
