"""The demo catalog shipped in server/demo/: its arXiv papers go through the ingestion code path.

``arxiv_api.xml`` is a response in the arXiv API's Atom format holding the demo papers whose arXiv ids are
confirmed; it is read by the parser of ``ingest arxiv`` and stored by the same upsert, so opening the real arXiv
page of a demo paper finds the same catalog row. ``catalog.jsonl`` holds the rest under ``demo:`` keys (no id
known), imported as before.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.ingest import arxiv_api
from server.ingest.http import UpstreamError
from server.ingest.records import FetchedPaper, Page
from server.ingest.runs import execute
from server.models import IngestRun, Paper

DEMO_DIR = Path(__file__).resolve().parent.parent / "demo"
DEMO_CATALOG = DEMO_DIR / "catalog.jsonl"
DEMO_ARXIV = DEMO_DIR / "arxiv_api.xml"


def load_recorded_arxiv(session: Session, path: Path = DEMO_ARXIV, *, source: str = "demo") -> IngestRun:
    """Store the papers of a recorded arXiv API response as ``ingest arxiv`` would, as one recorded run."""
    content = path.read_bytes()

    def pages() -> Iterator[Page]:
        page = arxiv_api.parse_page(content)
        if page.errors:  # an API error entry, as ``ingest arxiv`` treats it
            raise UpstreamError(f"arXiv API error: {page.errors[0]}")
        adopt_demo_rows(session, page.papers)
        yield Page(papers=page.papers, skipped=page.skipped, total=page.entries)

    return execute(session, source, {"file": path.name}, pages, progress=False)


def adopt_demo_rows(session: Session, papers: Sequence[FetchedPaper]) -> int:
    """Give a ``demo:`` row of the same title the paper's arXiv key, so an install that loaded the demo before it
    carried arXiv keys keeps one row per paper (with its saves and events) that the upsert then updates in place.
    A row is left as it is when its arXiv key is already taken. Returns how many rows changed key."""
    by_title = {p.title: p.key for p in papers}
    if not by_title:
        return 0
    taken = set(session.scalars(select(Paper.key).where(Paper.key.in_(list(by_title.values())))))
    rows = session.execute(
        select(Paper.id, Paper.title).where(Paper.key.like("demo:%"), Paper.title.in_(list(by_title)))
    ).all()
    adopted = 0
    for paper_id, title in rows:
        key = by_title[title]
        if key in taken:
            continue
        session.execute(update(Paper).where(Paper.id == paper_id).values(key=key))
        taken.add(key)
        adopted += 1
    return adopted
