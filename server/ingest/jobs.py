"""One recorded run of each source, as the `ingest` commands and the scheduler start them."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from server.ingest import arxiv_api, hf, oai, rss
from server.ingest.http import UpstreamClient
from server.ingest.records import Page
from server.ingest.resolve import BarePapers, find_bare_papers, resolve_pages
from server.ingest.runs import execute
from server.models import IngestRun

CATEGORY = re.compile(r"^[a-z][a-z\-]*(?:\.[A-Za-z][A-Za-z\-]*)?$")  # cs, cs.LG, hep-th, astro-ph.GA
SET_SPEC = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:._\-]{0,99}$")  # cs, physics:hep-th, cs:cs:LG


def check_categories(categories: Sequence[str]) -> list[str]:
    bad = [c for c in categories if not CATEGORY.match(c)]
    if bad or not categories:
        raise ValueError(f"not arXiv categories: {', '.join(bad) or '(none)'}")
    return list(dict.fromkeys(categories))


@dataclass
class IngestContext:
    session: Session
    client: UpstreamClient
    config: Mapping[str, Any]
    progress: bool | None = None  # None: a bar on a terminal, log lines elsewhere
    stop: threading.Event | None = None

    @classmethod
    def create(cls, session: Session, config: Mapping[str, Any], **kwargs: Any) -> IngestContext:
        return cls(session, UpstreamClient.from_config(config), config, **kwargs)

    def run(self, source: str, params: dict[str, Any], pages: Any) -> IngestRun:
        return execute(self.session, source, params, pages, progress=self.progress, stop=self.stop)


def ingest_arxiv(ctx: IngestContext, categories: Sequence[str], start: datetime, end: datetime) -> IngestRun:
    categories = check_categories(categories)
    query = arxiv_api.search_query(categories, start, end)
    params = {"categories": categories, "from": start.isoformat(), "until": end.isoformat()}
    url, size = ctx.config["ARXIV_API_URL"], int(ctx.config["INGEST_PAGE_SIZE"])
    return ctx.run("arxiv", params, lambda: arxiv_api.search_pages(ctx.client, url, query, page_size=size))


def ingest_rss(ctx: IngestContext, categories: Sequence[str]) -> IngestRun:
    categories = check_categories(categories)

    def pages() -> Iterator[Page]:
        yield rss.announcement_page(ctx.client, ctx.config["ARXIV_RSS_URL"], categories)

    return ctx.run("rss", {"categories": categories}, pages)


def ingest_hf(ctx: IngestContext, day: date) -> IngestRun:
    def pages() -> Iterator[Page]:
        yield hf.daily_page(ctx.client, ctx.config["HF_API_URL"], day)

    return ctx.run("hf", {"date": day.isoformat()}, pages)


def ingest_oai(ctx: IngestContext, set_spec: str, from_date: date | None, until_date: date | None) -> IngestRun:
    if not SET_SPEC.match(set_spec):
        raise ValueError(f"not an OAI-PMH set: {set_spec!r}")
    if from_date and until_date and until_date < from_date:
        raise ValueError("--until is before --from")
    plan = oai.plan_harvest(ctx.session, set_spec, from_date, until_date)
    params = {
        "set": set_spec,
        "from": plan.from_date.isoformat() if plan.from_date else None,
        "until": plan.until_date.isoformat() if plan.until_date else None,
        "resumed": plan.token is not None,
    }
    return ctx.run("oai", params, lambda: oai.harvest_pages(ctx.client, ctx.config["ARXIV_OAI_URL"], plan))


def ingest_resolve(ctx: IngestContext) -> tuple[IngestRun, BarePapers]:
    bare = find_bare_papers(ctx.session)
    params = {"arxiv": len(bare.arxiv), "others": len(bare.others)}
    run = ctx.run("resolve", params, lambda: resolve_pages(ctx.client, ctx.config["ARXIV_API_URL"], bare))
    return run, bare
