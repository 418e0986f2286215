"""Paper upserts by canonical key, with provenance: who wrote a paper's metadata decides what may change it.

- An authoritative write (``import``: the admin import, CLI import-papers, load-demo; ``fetch``: upstream
  fetchers) sets every field it provides: a non-empty value replaces the stored one, an empty one never blanks
  it, references are added to the stored ones. The paper becomes authoritative.
- A client write (``client``: extension events, saves) only fills fields that are still empty, only on a paper
  with no authoritative metadata, and only within CLIENT_LIMITS. It never sets a URL or the provenance.
- The URL of a paper on a known site (arXiv, OpenReview, DOI, Semantic Scholar) is always the canonical one
  derived from its key; only demo papers keep an imported URL (http or https, checked by the schema).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from server.keys import default_url
from server.models import AUTHORITATIVE_PROVENANCES, PROVENANCE_CLIENT, PROVENANCES, Paper
from server.schemas import MAX_REFERENCES
from server.services.sql import chunks, insert_for

SOURCES_BY_KIND = {"arxiv": "arxiv", "openreview": "openreview", "doi": "doi", "s2": "semanticscholar"}


@dataclass(frozen=True)
class ClientLimits:
    """The most a client write may store per field. Longer text is not stored at all (a cut title or abstract
    would be shown to every reader as if it were whole); lists keep their first items of acceptable length."""

    title: int = 500
    abstract: int = 5000
    authors: int = 50
    author_length: int = 200
    keywords: int = 20
    keyword_length: int = 60
    references: int = 200
    source: int = 40


CLIENT_LIMITS = ClientLimits()


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

    def overlay(self, other: PaperMeta) -> PaperMeta:
        """An authoritative write of ``other`` over this: its non-empty values win, references accumulate."""
        return PaperMeta(
            key=self.key,
            title=other.title or self.title,
            abstract=other.abstract or self.abstract,
            authors=other.authors or self.authors,
            keywords=other.keywords or self.keywords,
            references=_union(self.references, other.references, limit=MAX_REFERENCES),
            url=other.url or self.url,
            published_at=other.published_at or self.published_at,
            source=other.source or self.source,
        )

    def fill(self, other: PaperMeta) -> PaperMeta:
        """A client write of ``other`` over this: only empty fields take its values; the URL never changes."""
        return PaperMeta(
            key=self.key,
            title=self.title or other.title,
            abstract=self.abstract or other.abstract,
            authors=self.authors or other.authors,
            keywords=self.keywords or other.keywords,
            references=self.references or other.references,
            url=self.url,
            published_at=self.published_at or other.published_at,
            source=self.source or other.source,
        )

    def within_client_limits(self, limits: ClientLimits = CLIENT_LIMITS) -> PaperMeta:
        """What a client may contribute of this description (no URL: the server derives or keeps it)."""
        return replace(
            self,
            title=_fits(self.title, limits.title),
            abstract=_fits(self.abstract, limits.abstract),
            authors=[a for a in self.authors if len(a) <= limits.author_length][: limits.authors],
            keywords=[k for k in self.keywords if len(k) <= limits.keyword_length][: limits.keywords],
            references=self.references[: limits.references],
            url=None,
            source=_fits(self.source, limits.source),
        )


def is_authoritative(provenance: str) -> bool:
    if provenance not in PROVENANCES:
        raise ValueError(f"unknown provenance {provenance!r}")
    return provenance in AUTHORITATIVE_PROVENANCES


def fold_metas(metas: Iterable[PaperMeta], provenance: str) -> dict[str, PaperMeta]:
    """Descriptions of one write, one per key: later ones apply to earlier ones as they would to stored rows."""
    combine = PaperMeta.overlay if is_authoritative(provenance) else PaperMeta.fill
    out: dict[str, PaperMeta] = {}
    for meta in metas:
        out[meta.key] = combine(out[meta.key], meta) if meta.key in out else meta
    return out


def _clean(value: Any) -> str:
    return " ".join(str(value).split()) if value else ""


def _clean_list(values: Any) -> list[str]:
    out: list[str] = []
    for value in values or []:
        text = _clean(value)
        if text and text not in out:
            out.append(text)
    return out


def _fits(text: str, limit: int) -> str:
    return text if len(text) <= limit else ""


def _union(a: list[str], b: list[str], *, limit: int) -> list[str]:
    seen = {x.lower() for x in a}
    return a + [x for x in b if x.lower() not in seen][: max(0, limit - len(a))]


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


def _url_for(key: str, given: str | None) -> str | None:
    return default_url(key) or given


_META_COLUMNS = ("title", "abstract", "authors", "keywords", "reference_keys", "url", "published_at", "source")
_TABLE = Paper.__table__
_SET_META = {name: bindparam(f"new_{name}", type_=_TABLE.c[name].type) for name in _META_COLUMNS}
# An authoritative write sets the row whatever it holds.
_AUTHORITATIVE_UPDATE = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("row_id"))
    .values(
        **_SET_META,
        provenance=bindparam("new_provenance"),
        updated_at=bindparam("now", type_=_TABLE.c.updated_at.type),
    )
)
# A client fill applies only to the row as it was read: if an import (or another fill) changed it since, the
# fill is dropped rather than written over the newer values.
_CLIENT_FILL = (
    update(_TABLE)
    .where(
        _TABLE.c.id == bindparam("row_id"),
        _TABLE.c.provenance == PROVENANCE_CLIENT,
        _TABLE.c.updated_at == bindparam("seen", type_=_TABLE.c.updated_at.type),
    )
    .values(**_SET_META, updated_at=bindparam("now", type_=_TABLE.c.updated_at.type))
)


def _meta_params(meta: PaperMeta) -> dict[str, Any]:
    values = {
        "title": meta.title,
        "abstract": meta.abstract,
        "authors": meta.authors,
        "keywords": meta.keywords,
        "reference_keys": meta.references,
        "url": meta.url,
        "published_at": meta.published_at,
        "source": meta.source,
    }
    return {f"new_{name}": value for name, value in values.items()}


def _describes(meta: PaperMeta) -> bool:
    """Whether a client's ``meta`` (within client limits: no URL) holds anything ``fill`` could write."""
    fields = (meta.title, meta.abstract, meta.authors, meta.keywords, meta.references, meta.published_at, meta.source)
    return any(fields) or meta.url is not None


def _load_ids(session: Session, keys: list[str]) -> dict[str, tuple[int, str]]:
    """key -> (id, provenance) of the stored papers among ``keys``."""
    found: dict[str, tuple[int, str]] = {}
    for part in chunks(keys):
        query = select(Paper.key, Paper.id, Paper.provenance).where(Paper.key.in_(part))
        found.update({key: (paper_id, prov) for key, paper_id, prov in session.execute(query)})
    return found


def _load(session: Session, keys: list[str]) -> dict[str, Paper]:
    found: dict[str, Paper] = {}
    for part in chunks(keys):
        found.update({p.key: p for p in session.scalars(select(Paper).where(Paper.key.in_(part)))})
    return found


def _insert_new(session: Session, metas: dict[str, PaperMeta], keys: list[str], provenance: str) -> dict[str, int]:
    """Insert papers not stored yet; returns key -> id of the rows this call inserted."""
    authoritative = is_authoritative(provenance)
    now = datetime.now(UTC)
    rows = []
    for key in keys:
        meta = metas[key]
        rows.append(
            {
                "key": key,
                "title": meta.title,
                "abstract": meta.abstract,
                "authors": meta.authors,
                "keywords": meta.keywords,
                "reference_keys": meta.references,  # the column's name (Core insert)
                "url": _url_for(key, meta.url if authoritative else None),
                "published_at": meta.published_at,
                "source": meta.source or SOURCES_BY_KIND.get(key.split(":", 1)[0], ""),
                "provenance": provenance,
                "created_at": now,
                "updated_at": now,
            }
        )
    # A concurrent request may insert the same paper; DO NOTHING leaves it to the update pass below.
    papers = Paper.__table__  # Core, not the ORM's bulk path
    stmt = (
        insert_for(session, papers).on_conflict_do_nothing(index_elements=["key"]).returning(papers.c.key, papers.c.id)
    )
    inserted: dict[str, int] = {}
    for part in chunks(rows):
        inserted.update({key: paper_id for key, paper_id in session.execute(stmt, part)})
    return inserted


def _update_existing(session: Session, metas: dict[str, PaperMeta], rows: dict[str, Paper], provenance: str) -> None:
    authoritative = is_authoritative(provenance)
    now = datetime.now(UTC)
    params = []
    for key in sorted(rows):  # one lock order for every writer
        paper = rows[key]
        stored = _row_meta(paper)
        if authoritative:
            merged = stored.overlay(metas[key])
            merged = replace(merged, url=_url_for(key, merged.url))
            if merged != stored or paper.provenance != provenance:
                params.append({"row_id": paper.id, "new_provenance": provenance, "now": now, **_meta_params(merged)})
        elif paper.provenance == PROVENANCE_CLIENT:
            merged = stored.fill(metas[key])
            if merged != stored:
                params.append({"row_id": paper.id, "seen": paper.updated_at, "now": now, **_meta_params(merged)})
    if params:
        session.execute(_AUTHORITATIVE_UPDATE if authoritative else _CLIENT_FILL, params)


def upsert_papers(session: Session, metas: dict[str, PaperMeta], provenance: str) -> dict[str, int]:
    """Insert unknown papers and update known ones as ``provenance`` may (see the module docstring); returns
    key -> paper id. Runs inside the caller's transaction, a few statements per batch, not one per paper."""
    if not metas:
        return {}
    if not is_authoritative(provenance):
        metas = {key: meta.within_client_limits() for key, meta in metas.items()}
    keys = sorted(metas)
    found = _load_ids(session, keys)
    missing = [k for k in keys if k not in found]
    ids = _insert_new(session, metas, missing, provenance) if missing else {}
    lost_race = [k for k in missing if k not in ids]
    if lost_race:
        found.update(_load_ids(session, lost_race))
    # Whole rows only where an update may follow: a client only fills empty fields of papers clients created,
    # so a paper of the catalog, or one named by its key alone, costs an id lookup, not an ORM object.
    authoritative = is_authoritative(provenance)
    updatable = [
        k for k in sorted(found) if authoritative or (found[k][1] == PROVENANCE_CLIENT and _describes(metas[k]))
    ]
    if updatable:
        _update_existing(session, metas, _load(session, updatable), provenance)
    ids.update({key: paper_id for key, (paper_id, _) in found.items()})
    return ids
