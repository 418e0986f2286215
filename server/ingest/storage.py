"""Fetched papers into the catalog: upserted by canonical key as authoritative ("fetch") metadata.

Rules beyond "a fetched non-empty value replaces the stored one" (server.services.papers.upsert_papers):
- an older version never replaces a newer one, and a source without version numbers (Hugging Face) only fills
  what is still empty on a paper whose version is known;
- a replacement announcement (``revision_only``) updates a known paper and adds no new one;
- ``published_at`` is replaced only by the first version's exact date (arXiv API, OAI-PMH); a near date (the
  announcement, Hugging Face's) only fills an empty one. ``announced_at`` keeps the first announcement, and a
  version's date the first one seen for that version.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.orm import Session

from server.ingest.records import FetchedPaper
from server.models import PROVENANCE_FETCH, HfUpvote, Paper
from server.services.papers import PaperMeta, upsert_papers
from server.services.sql import chunks, insert_for

logger = logging.getLogger(__name__)

_STORED = (
    Paper.id,
    Paper.key,
    Paper.title,
    Paper.abstract,
    Paper.authors,
    Paper.keywords,
    Paper.url,
    Paper.published_at,
    Paper.source,
    Paper.arxiv_version,
    Paper.version_date,
    Paper.primary_category,
    Paper.announced_at,
    Paper.github_repo,
    Paper.ai_keywords,
)
_META_FIELDS = ("title", "abstract", "authors", "keywords", "url", "published_at", "source")
_EXTRA_FIELDS = ("arxiv_version", "version_date", "primary_category", "announced_at", "github_repo", "ai_keywords")


@dataclass
class StoreCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    ignored: int = 0  # older versions, and revisions of papers the catalog does not have


def _latest_per_key(papers: Sequence[FetchedPaper]) -> dict[str, FetchedPaper]:
    latest: dict[str, FetchedPaper] = {}
    for paper in papers:
        seen = latest.get(paper.key)
        if seen is None or (paper.version or 0) > (seen.version or 0):
            latest[paper.key] = paper
    return latest


def _stored_rows(session: Session, keys: list[str]) -> dict[str, Row[Any]]:
    rows: dict[str, Row[Any]] = {}
    for part in chunks(keys):
        for row in session.execute(select(*_STORED).where(Paper.key.in_(part))):
            rows[row.key] = row
    return rows


def _meta(paper: FetchedPaper, row: Row[Any] | None) -> PaperMeta:
    stored_published = row.published_at if row is not None else None
    published = paper.published_at or stored_published or paper.published_hint
    text_known = row is not None and paper.version is None and row.arxiv_version is not None
    if text_known:  # a versionless description fills gaps only (empty values never blank stored ones)
        return PaperMeta(key=paper.key, url=paper.url, published_at=published, source="arxiv")
    return PaperMeta(
        key=paper.key,
        title=paper.title,
        abstract=paper.abstract,
        authors=list(paper.authors),
        keywords=list(paper.categories),
        url=paper.url,
        published_at=published,
        source="arxiv",
    )


def _extra(paper: FetchedPaper, row: Row[Any] | None) -> dict[str, Any]:
    if row is None:
        return {
            "arxiv_version": paper.version,
            "version_date": paper.version_date,
            "primary_category": paper.primary_category,
            "announced_at": paper.announced_at,
            "github_repo": paper.github_repo,
            "ai_keywords": list(paper.ai_keywords) or None,
        }
    newer = paper.version is not None and (row.arxiv_version is None or paper.version > row.arxiv_version)
    return {
        "arxiv_version": paper.version if newer else row.arxiv_version,
        "version_date": paper.version_date if newer or row.version_date is None else row.version_date,
        "primary_category": paper.primary_category or row.primary_category,
        "announced_at": row.announced_at or paper.announced_at,
        "github_repo": paper.github_repo or row.github_repo,
        "ai_keywords": list(paper.ai_keywords) or row.ai_keywords,
    }


def _changed(row: Row[Any], meta: PaperMeta, extra: dict[str, Any]) -> bool:
    for name in _META_FIELDS:
        value = getattr(meta, name)
        if value and value != getattr(row, name):
            return True
    return any(extra[name] != getattr(row, name) for name in _EXTRA_FIELDS)


def store_papers(session: Session, papers: Sequence[FetchedPaper]) -> StoreCounts:
    """Upsert one page of fetched papers in the caller's transaction; returns what it added and changed."""
    counts = StoreCounts()
    latest = _latest_per_key(papers)
    stored = _stored_rows(session, sorted(latest))
    metas: dict[str, PaperMeta] = {}
    extras: dict[str, dict[str, Any]] = {}
    for key, paper in latest.items():
        row = stored.get(key)
        if row is None and paper.revision_only:
            counts.ignored += 1
            continue
        if row is not None and paper.version and row.arxiv_version and paper.version < row.arxiv_version:
            logger.debug("%s: v%s is older than the stored v%s", key, paper.version, row.arxiv_version)
            counts.ignored += 1
            continue
        metas[key], extras[key] = _meta(paper, row), _extra(paper, row)
        if row is None:
            counts.new += 1
        elif _changed(row, metas[key], extras[key]):
            counts.updated += 1
        else:
            counts.unchanged += 1
    if not metas:
        return counts
    ids = upsert_papers(session, metas, provenance=PROVENANCE_FETCH)
    changes = [
        {"id": ids[key], **extra}
        for key, extra in extras.items()
        if key in ids and (key not in stored or any(extra[n] != getattr(stored[key], n) for n in _EXTRA_FIELDS))
    ]
    for part in chunks(changes):
        session.execute(update(Paper), part)
    _store_upvotes(session, ids, [latest[key] for key in metas])
    return counts


def _store_upvotes(session: Session, ids: dict[str, int], papers: list[FetchedPaper]) -> None:
    now = datetime.now(UTC)
    rows = [
        {"paper_id": ids[p.key], "day": p.upvotes_day, "upvotes": p.upvotes, "fetched_at": now}
        for p in papers
        if p.upvotes is not None and p.upvotes_day is not None and p.key in ids
    ]
    if not rows:
        return
    insert = insert_for(session, HfUpvote)
    stmt = insert.on_conflict_do_update(
        index_elements=["paper_id", "day"],
        set_={"upvotes": insert.excluded.upvotes, "fetched_at": insert.excluded.fetched_at},
    )
    for part in chunks(rows):
        session.execute(stmt, part)
