"""arXiv's daily announcement feed (rss.arxiv.org, Atom): https://info.arxiv.org/help/rss_specifications.html

Each entry says how it is announced (``arxiv:announce_type``): ``new`` and ``cross`` listings are kept as papers;
``replace`` and ``replace-cross`` announce a new version of an older paper and only update papers the catalog
already has. The feed is empty on weekends and arXiv holidays, which is not an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from server.ingest.arxiv_api import parse_feed
from server.ingest.http import UpstreamClient
from server.ingest.records import (
    BadEntry,
    FetchedPaper,
    Page,
    Skip,
    arxiv_identity,
    require_text,
    split_author_string,
    struct_to_datetime,
    unique,
)
from server.keys import default_url

NEW_TYPES = frozenset({"new", "cross"})
REVISION_TYPES = frozenset({"replace", "replace-cross"})
# The summary starts "arXiv:2203.01250v3 Announce Type: replace-cross \nAbstract: ..."
_SUMMARY_PREFIX = re.compile(r"^\s*arXiv:\S+\s+Announce Type:\s*\S+\s*(?:Abstract:)?\s*", re.IGNORECASE)


def feed_url(base_url: str, categories: Sequence[str]) -> str:
    return f"{base_url.rstrip('/')}/{'+'.join(categories)}"


def paper_from_entry(entry: Any, announce_type: str) -> FetchedPaper:
    key, version = arxiv_identity(entry.get("id"))
    summary = _SUMMARY_PREFIX.sub("", str(entry.get("summary") or ""), count=1)
    title, abstract = require_text(entry.get("title"), summary)
    authors = split_author_string(str(entry.get("author") or ""))  # dc:creator, names separated by commas
    if not authors:
        raise BadEntry("no authors")
    # the feed does not mark the primary category; arXiv lists it first
    categories = unique(tag.get("term") for tag in entry.get("tags", []))
    announced = struct_to_datetime(entry.get("published_parsed"))
    revision = announce_type in REVISION_TYPES
    return FetchedPaper(
        key=key,
        title=title,
        abstract=abstract,
        authors=authors,
        categories=categories,
        primary_category=categories[0] if categories else None,
        version=version,
        version_date=announced,  # the announcement of this version (the feed has no submission date)
        published_hint=None if revision else announced,
        announced_at=None if revision else announced,
        url=default_url(key),
        revision_only=revision,
    )


def parse_announcements(content: bytes, headers: Mapping[str, str] | None = None) -> Page:
    """The papers of one day's feed; an empty feed is an empty page."""
    feed = parse_feed(content, headers)
    page = Page()
    for number, entry in enumerate(feed.entries, start=1):
        label = str(entry.get("id") or f"entry {number}")
        announce_type = str(entry.get("arxiv_announce_type") or "").strip().lower()
        if announce_type not in NEW_TYPES | REVISION_TYPES:
            page.skipped.append(Skip(label, f"unknown announce type {announce_type[:40]!r}"))
            continue
        try:
            page.papers.append(paper_from_entry(entry, announce_type))
        except BadEntry as exc:
            page.skipped.append(Skip(label, str(exc)))
    page.total = len(page.papers) + len(page.skipped)
    return page


def announcement_page(client: UpstreamClient, base_url: str, categories: Sequence[str]) -> Page:
    response = client.get(feed_url(base_url, categories))
    return parse_announcements(response.content, response.headers)
