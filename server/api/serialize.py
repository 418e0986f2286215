"""Turning rows into response dicts without per-row queries."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.fields import is_http_url
from server.keys import default_url
from server.models import Paper
from server.services.sql import chunks
from server.services.state import saved_and_dismissed


def paper_dict(
    paper: Paper, *, saved: bool | None = None, dismissed: bool | None = None, references: bool = False
) -> dict[str, Any]:
    """A paper as the API shows it; ``references`` (up to 1,000 keys) only where one paper is asked for."""
    out: dict[str, Any] = {
        "key": paper.key,
        "title": paper.title,
        "abstract": paper.abstract,
        "authors": list(paper.authors or []),
        "keywords": list(paper.keywords or []),
        "url": shown_url(paper.key, paper.url),
        "published_at": paper.published_at,
        "source": paper.source,
    }
    if references:
        out["references"] = list(paper.references or [])
    if saved is not None:
        out["saved"] = saved
    if dismissed is not None:
        out["dismissed"] = dismissed
    return out


def shown_url(key: str, stored: str | None) -> str | None:
    """The URL readers are sent to: the canonical page for a known site, else the stored one if it is http(s).
    (Rows written before URLs were checked may hold anything.)"""
    return default_url(key) or (stored if stored and is_http_url(stored) else None)


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


def paper_dicts_for_user(
    session: Session, user_id: int | None, papers: list[Paper], *, references: bool = False
) -> list[dict[str, Any]]:
    if user_id is None:
        return [paper_dict(p, references=references) for p in papers]
    saved, dismissed = saved_and_dismissed(session, user_id, [p.id for p in papers])
    return [paper_dict(p, saved=p.id in saved, dismissed=p.id in dismissed, references=references) for p in papers]
