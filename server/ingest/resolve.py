"""Bare papers (no title or no abstract: opened from a PDF URL, or a page that showed no metadata) described from
the arXiv API by ``id_list``, in batches. Papers without an arXiv id are left as they are and listed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from server.ingest.arxiv_api import ApiPage, fetch_by_ids
from server.ingest.http import UpstreamClient
from server.ingest.records import BadEntry, Page, Skip, arxiv_identity
from server.models import Paper
from server.services.sql import chunks

BATCH = 100  # ids per request: one URL stays short, and one slow answer costs little


@dataclass
class BarePapers:
    arxiv: list[str] = field(default_factory=list)  # keys the arXiv API can describe
    others: list[str] = field(default_factory=list)  # DOIs, OpenReview, Semantic Scholar: left as they are
    unresolved: list[str] = field(default_factory=list)  # arXiv keys the API answered nothing for


def find_bare_papers(session: Session) -> BarePapers:
    query = select(Paper.key).where(or_(Paper.title == "", Paper.abstract == "")).order_by(Paper.id)
    bare = BarePapers()
    for key in session.scalars(query):
        (bare.arxiv if key.startswith("arxiv:") else bare.others).append(key)
    return bare


def resolve_pages(client: UpstreamClient, base_url: str, bare: BarePapers, *, batch: int = BATCH) -> Iterator[Page]:
    for part in chunks(bare.arxiv, batch):
        answer = fetch_by_ids(client, base_url, [key.split(":", 1)[1] for key in part])
        returned = {paper.key for paper in answer.papers}
        missing = [key for key in part if key not in returned]
        bare.unresolved.extend(missing)
        yield Page(papers=answer.papers, skipped=_reasons(answer, missing), total=len(bare.arxiv))


def _reasons(answer: ApiPage, missing: list[str]) -> list[Skip]:
    """One skip per id that got no paper: the bad entry's reason if arXiv sent one, else that nothing came."""
    by_key: dict[str, str] = {}
    for skip in answer.skipped:
        try:
            by_key[arxiv_identity(skip.entry)[0]] = skip.reason
        except BadEntry:
            continue
    reasons = [Skip(key, by_key.get(key, "the arXiv API returned no paper for this id")) for key in missing]
    return reasons + [Skip("arXiv API", error) for error in answer.errors]
