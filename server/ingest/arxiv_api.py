"""The arXiv API (Atom with OpenSearch and arxiv extensions): category searches by submission date, and look-ups
by id list. https://info.arxiv.org/help/api/user-manual.html"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import feedparser
from lxml import etree

from server.ingest.http import UpstreamClient, UpstreamError
from server.ingest.records import (
    BadEntry,
    BrokenPage,
    FetchedPaper,
    Page,
    Skip,
    arxiv_identity,
    require_text,
    struct_to_datetime,
    unique,
    with_primary,
)
from server.keys import default_url

ERROR_ID_PREFIX = "http://arxiv.org/api/errors"
EMPTY_PAGE_RETRIES = 2  # the API now and then answers an empty page in the middle of a result list


@dataclass
class ApiPage:
    papers: list[FetchedPaper] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # the API's own error entries
    total: int | None = None

    @property
    def entries(self) -> int:
        return len(self.papers) + len(self.skipped) + len(self.errors)


def parse_feed(content: bytes, headers: Mapping[str, str] | None = None) -> feedparser.FeedParserDict:
    """feedparser over the bytes of a response (never a URL or a path). A document that is not well-formed XML
    (feedparser would recover what it could from it) or not Atom is BrokenPage."""
    try:
        etree.fromstring(content, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise BrokenPage(f"not a well-formed feed ({str(exc)[:120]})") from None
    lowered = {name.lower(): value for name, value in (headers or {}).items()}
    feed = feedparser.parse(io.BytesIO(content), response_headers=lowered)
    if not str(feed.get("version", "")).startswith("atom"):
        raise BrokenPage("not an Atom feed")
    return feed


def paper_from_entry(entry: Any) -> FetchedPaper:
    """A whole paper from one API entry, or BadEntry."""
    key, version = arxiv_identity(entry.get("id"))
    title, abstract = require_text(entry.get("title"), entry.get("summary"))
    authors = unique(author.get("name") for author in entry.get("authors", []))
    if not authors:
        raise BadEntry("no authors")
    primary = (entry.get("arxiv_primary_category") or {}).get("term")
    categories = with_primary((tag.get("term") for tag in entry.get("tags", [])), primary)
    links = unique(link.get("href") for link in entry.get("links", []) if link.get("rel") != "alternate")
    published = struct_to_datetime(entry.get("published_parsed"))
    return FetchedPaper(
        key=key,
        title=title,
        abstract=abstract,
        authors=authors,
        categories=categories,
        primary_category=categories[0] if categories else None,
        version=version,
        # <updated> is the date of the version the entry describes (its id carries that version)
        version_date=struct_to_datetime(entry.get("updated_parsed")) or published,
        published_at=published,
        url=default_url(key),
        links=links,
    )


def parse_page(content: bytes, headers: Mapping[str, str] | None = None) -> ApiPage:
    feed = parse_feed(content, headers)
    page = ApiPage()
    total = feed.feed.get("opensearch_totalresults")
    page.total = int(total) if str(total or "").strip().isdigit() else None
    for number, entry in enumerate(feed.entries, start=1):
        entry_id = str(entry.get("id") or "")
        if entry_id.startswith(ERROR_ID_PREFIX):
            page.errors.append(" ".join(str(entry.get("summary") or entry_id).split()))
            continue
        try:
            page.papers.append(paper_from_entry(entry))
        except BadEntry as exc:
            page.skipped.append(Skip(entry_id or f"entry {number}", str(exc)))
    return page


def search_query(categories: Sequence[str], start: datetime, end: datetime) -> str:
    """``(cat:A OR cat:B) AND submittedDate:[YYYYMMDDHHMM TO YYYYMMDDHHMM]`` (times in GMT)."""
    cats = " OR ".join(f"cat:{category}" for category in categories)
    return f"({cats}) AND submittedDate:[{start:%Y%m%d%H%M} TO {end:%Y%m%d%H%M}]"


def search_pages(client: UpstreamClient, base_url: str, query: str, *, page_size: int) -> Iterator[Page]:
    """Every page of a search, oldest submissions first, until ``start`` reaches opensearch:totalResults.

    A page that is not a well-formed feed is skipped with its reason once the total is known (the next page
    follows); an API error entry or a first page that cannot be read fails the run.
    """
    start, total, empty = 0, None, 0
    while total is None or start < total:
        params = {
            "search_query": query,
            "start": start,
            "max_results": page_size,
            "sortBy": "submittedDate",
            "sortOrder": "ascending",
        }
        response = client.get(base_url, params)
        try:
            page = parse_page(response.content, response.headers)
        except BrokenPage as exc:
            if total is None:
                raise UpstreamError(f"arXiv API results at start={start}: {exc}") from None
            yield Page(skipped=[Skip(f"results {start}-{start + page_size - 1}", str(exc))], total=total)
            start += page_size
            continue
        if page.errors:
            raise UpstreamError(f"arXiv API error: {page.errors[0]}")
        if page.total is not None:
            total = page.total
        else:  # no opensearch:totalResults: go on while pages come back full
            total = start + page.entries + (page_size if page.entries >= page_size else 0)
        if page.entries == 0:
            if start >= total:
                break
            empty += 1
            if empty > EMPTY_PAGE_RETRIES:
                raise UpstreamError(f"arXiv API answered an empty page at start={start} of {total} results")
            continue
        empty = 0
        yield Page(papers=page.papers, skipped=page.skipped, total=total)
        start += page.entries


def fetch_by_ids(client: UpstreamClient, base_url: str, ids: Sequence[str]) -> ApiPage:
    """The papers of up to a few hundred arXiv ids (no versions: the latest version comes back)."""
    response = client.get(base_url, {"id_list": ",".join(ids), "start": 0, "max_results": len(ids)})
    return parse_page(response.content, response.headers)
