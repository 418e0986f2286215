"""Paper upserts by canonical key, keeping the richest metadata seen so far."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.keys import default_url
from server.models import AUTHORITATIVE_PROVENANCES, PROVENANCE_CLIENT, Paper
from server.schemas import MAX_REFERENCES
from server.services.sql import chunks, insert_for

SOURCES_BY_KIND = {"arxiv": "arxiv", "openreview": "openreview", "doi": "doi", "s2": "semanticscholar"}


@dataclass
class PaperMeta:
    key: str
    title: str = ""
    abstract: str = ""
    authors: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)  # canonical keys
    url: str | None = None
    published_at: datetime | None = None
    source: str = ""

    @classmethod
    def from_payload(cls, key: str, data: dict[str, Any] | None) -> PaperMeta:
        data = data or {}
        return cls(
            key=key,
            title=_clean(data.get("title")),
            abstract=_clean(data.get("abstract")),
            authors=_clean_list(data.get("authors")),
            keywords=_clean_list(data.get("keywords")),
            references=[r for r in _clean_list(data.get("references")) if r != key],  # not itself
            url=data.get("url") or None,
            published_at=data.get("published_at"),
            source=_clean(data.get("source")),
        )

    def merge(self, other: PaperMeta) -> PaperMeta:
        """Combine two descriptions of the same paper; a value is never replaced by an emptier one."""
        return PaperMeta(
            key=self.key,
            title=self.title or other.title,
            abstract=_longer(self.abstract, other.abstract),
            authors=self.authors if len(self.authors) >= len(other.authors) else other.authors,
            keywords=_union(self.keywords, other.keywords),
            references=_union(self.references, other.references, limit=MAX_REFERENCES),
            url=self.url or other.url,
            published_at=self.published_at or other.published_at,
            source=self.source or other.source,
        )


def _clean(value: Any) -> str:
    return " ".join(str(value).split()) if value else ""


def _clean_list(values: Any) -> list[str]:
    out: list[str] = []
    for value in values or []:
        text = _clean(value)
        if text and text not in out:
            out.append(text)
    return out


def _longer(a: str, b: str) -> str:
    return a if len(a) >= len(b) else b


def _union(a: list[str], b: list[str], *, limit: int = 100) -> list[str]:
    seen = {x.lower() for x in a}
    return a + [x for x in b if x.lower() not in seen][: max(0, limit - len(a))]


def _overwrite(stored: PaperMeta, fetched: PaperMeta) -> PaperMeta:
    """An authoritative write: every non-empty fetched value replaces the stored one; empty values blank nothing."""
    return PaperMeta(
        key=stored.key,
        title=fetched.title or stored.title,
        abstract=fetched.abstract or stored.abstract,
        authors=fetched.authors or stored.authors,
        keywords=fetched.keywords or stored.keywords,
        references=fetched.references or stored.references,
        url=fetched.url or stored.url,
        published_at=fetched.published_at or stored.published_at,
        source=fetched.source or stored.source,
    )


def _row_meta(paper: Paper) -> PaperMeta:
    return PaperMeta(
        key=paper.key,
        title=paper.title,
        abstract=paper.abstract,
        authors=list(paper.authors or []),
        keywords=list(paper.keywords or []),
        references=list(paper.references or []),
        url=paper.url,
        published_at=paper.published_at,
        source=paper.source,
    )


def upsert_papers(
    session: Session, metas: dict[str, PaperMeta], *, provenance: str = PROVENANCE_CLIENT
) -> dict[str, int]:
    """Insert unknown papers and enrich known ones in bulk; returns key -> paper id.

    An authoritative provenance ("import", "fetch") overwrites stored values with its non-empty ones and marks
    the paper with that provenance. Runs inside the caller's transaction: three or four statements per batch,
    not one per paper.
    """
    authoritative = provenance in AUTHORITATIVE_PROVENANCES
    if not metas:
        return {}
    keys = sorted(metas)
    existing: dict[str, Paper] = {}
    for part in chunks(keys):
        for paper in session.scalars(select(Paper).where(Paper.key.in_(part))):
            existing[paper.key] = paper

    now = datetime.now(UTC)
    new_rows = []
    for key in keys:
        if key in existing:
            continue
        meta = metas[key]
        kind = key.split(":", 1)[0]
        new_rows.append(
            {
                "key": key,
                "title": meta.title,
                "abstract": meta.abstract,
                "authors": meta.authors,
                "keywords": meta.keywords,
                "references": meta.references,
                "url": meta.url or default_url(key),
                "published_at": meta.published_at,
                "source": meta.source or SOURCES_BY_KIND.get(kind, ""),
                "provenance": provenance,
                "created_at": now,
                "updated_at": now,
            }
        )
    if new_rows:
        # A concurrent request may insert the same paper; DO NOTHING makes that harmless.
        stmt = insert_for(session, Paper).on_conflict_do_nothing(index_elements=["key"])
        for part in chunks(new_rows):
            session.execute(stmt, part)

    updates = []
    for key, paper in existing.items():
        old = _row_meta(paper)
        merged = _overwrite(old, metas[key]) if authoritative else old.merge(metas[key])
        marked = authoritative and paper.provenance != provenance
        if merged != old or marked:
            updates.append(
                {
                    "id": paper.id,
                    "title": merged.title,
                    "abstract": merged.abstract,
                    "authors": merged.authors,
                    "keywords": merged.keywords,
                    "references": merged.references,
                    "url": merged.url,
                    "published_at": merged.published_at,
                    "source": merged.source,
                    "provenance": provenance if authoritative else paper.provenance,
                    "updated_at": now,
                }
            )
    if updates:
        session.execute(update(Paper), updates)

    ids = {key: paper.id for key, paper in existing.items()}
    missing = [k for k in keys if k not in ids]
    for part in chunks(missing):
        ids.update(dict(session.execute(select(Paper.key, Paper.id).where(Paper.key.in_(part))).all()))
    return ids
