"""Reading the paper catalog: papers by key or id without a query per paper, one paper, and search."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import column, func, literal_column, or_, select, table
from sqlalchemy.orm import Session

from server.fields import is_http_url
from server.keys import default_url
from server.models import Paper
from server.services.sql import chunks

MAX_SEARCH_TERMS = 8
MAX_TERM_LENGTH = 64
# The schema objects of full-text search (migration 0008), outside the ORM models: FTS5 and its shadow tables
# on SQLite, a generated tsvector column and its GIN index on PostgreSQL.
SEARCH_SCHEMA_NAMES = ("papers_fts", "search_vector", "ix_papers_search_vector")


def is_search_schema(name: str | None) -> bool:
    """Whether a schema object belongs to full-text search (the FTS5 table's shadow tables included)."""
    return bool(name) and (name in SEARCH_SCHEMA_NAMES or name.startswith("papers_fts_"))


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


def search_terms(text: str) -> list[str]:
    """The words of a query: runs of letters and digits (lower case, at most MAX_SEARCH_TERMS, each at most
    MAX_TERM_LENGTH long). Everything else (quotes, operators, brackets, NUL) separates words, so no query
    syntax of FTS5 or tsquery ever reaches the database from the user."""
    return [t[:MAX_TERM_LENGTH] for t in re.findall(r"[^\W_]+", text.lower())][:MAX_SEARCH_TERMS]


def search_papers(session: Session, text: str, limit: int) -> list[Paper]:
    """The ``limit`` papers whose title, abstract or authors hold every word of ``text`` (as a word or a word's
    beginning), best match first (bm25 on SQLite's FTS5 index, ts_rank on PostgreSQL's tsvector; title
    matches weigh most; on PostgreSQL then newest); without words, the newest ``limit`` papers."""
    terms = search_terms(text)
    if not terms:
        return list(session.scalars(select(Paper).order_by(Paper.created_at.desc(), Paper.id.desc()).limit(limit)))
    if session.get_bind().dialect.name == "sqlite":
        # ORDER BY rank (bm25 with the column weights the migration configured) with a LIMIT is the order FTS5
        # computes best: it ranks inside the index, without loading the matching papers
        fts = table("papers_fts", column("rowid"), column("rank"))
        match = literal_column("papers_fts").op("MATCH")(" ".join(f'"{t}"*' for t in terms))
        ids = list(session.scalars(select(fts.c.rowid).where(match).order_by(fts.c.rank).limit(limit)))
        found = papers_by_id(session, ids)
        return [found[i] for i in ids if i in found]
    vector = literal_column("papers.search_vector")
    tsquery = func.to_tsquery(literal_column("'simple'"), " & ".join(f"{t}:*" for t in terms))
    query = (
        select(Paper)
        .where(vector.op("@@")(tsquery))
        .order_by(func.ts_rank(vector, tsquery).desc(), Paper.created_at.desc(), Paper.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


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
