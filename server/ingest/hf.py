"""Hugging Face daily papers (``<base>/daily_papers?date=YYYY-MM-DD``, JSON): arXiv papers with their upvotes.

Each item holds the paper (``paper.id`` is its arXiv id; ``title``, ``summary``, ``authors[].name``,
``publishedAt``, ``upvotes``, ``ai_keywords``, ``githubRepo``) and when it was listed (``publishedAt``).
The upvotes are kept per paper and day, a popularity signal a later step decays by day.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from server.ingest.http import UpstreamClient
from server.ingest.records import (
    BadEntry,
    BrokenPage,
    FetchedPaper,
    Page,
    Skip,
    arxiv_identity,
    clean,
    iso_datetime,
    require_text,
    unique,
)
from server.keys import default_url


def daily_url(base_url: str) -> str:
    return f"{base_url.rstrip('/')}/daily_papers"


def _upvotes(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadEntry(f"upvotes is not a count: {str(value)[:40]!r}")
    return value


def _github(value: Any) -> str | None:
    text = clean(value)
    return text if text.startswith(("https://", "http://")) and len(text) <= 500 else None


def paper_from_item(item: Any, day: date) -> FetchedPaper:
    if not isinstance(item, dict) or not isinstance(item.get("paper"), dict):
        raise BadEntry("no paper object")
    paper = item["paper"]
    key, version = arxiv_identity(paper.get("id"))
    title, abstract = require_text(paper.get("title") or item.get("title"), paper.get("summary") or item.get("summary"))
    authors = unique(a.get("name") for a in paper.get("authors") or [] if isinstance(a, dict))
    if not authors:
        raise BadEntry("no authors")
    github = _github(paper.get("githubRepo"))
    return FetchedPaper(
        key=key,
        title=title,
        abstract=abstract,
        authors=authors,
        version=version,
        # paper.publishedAt is arXiv's publication; the item's publishedAt is when it was listed on the page
        published_hint=iso_datetime(paper.get("publishedAt")) or iso_datetime(item.get("publishedAt")),
        url=default_url(key),
        links=unique((f"https://huggingface.co/papers/{key.split(':', 1)[1]}", github)),
        upvotes=_upvotes(paper.get("upvotes", 0)),
        upvotes_day=day,
        ai_keywords=unique(k for k in paper.get("ai_keywords") or [] if isinstance(k, str))[:50],
        github_repo=github,
    )


def _label(item: Any, number: int) -> str:
    paper = item.get("paper") if isinstance(item, dict) else None
    ident = paper.get("id") if isinstance(paper, dict) else None
    return str(ident or f"item {number}")[:100]


def parse_daily_papers(content: bytes, day: date) -> Page:
    try:
        data = json.loads(content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BrokenPage(f"daily papers of {day}: not JSON ({str(exc)[:120]})") from None
    if not isinstance(data, list):
        raise BrokenPage(f"daily papers of {day}: not a JSON list")
    page = Page(total=len(data))
    for number, item in enumerate(data, start=1):
        try:
            page.papers.append(paper_from_item(item, day))
        except BadEntry as exc:
            page.skipped.append(Skip(_label(item, number), str(exc)))
    return page


def daily_page(client: UpstreamClient, base_url: str, day: date) -> Page:
    response = client.get(daily_url(base_url), {"date": day.isoformat()})
    return parse_daily_papers(response.content, day)
