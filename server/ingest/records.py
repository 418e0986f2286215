"""What the sources produce: fetched papers, skipped entries and pages, and the identity and date helpers they share."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from sqlalchemy.orm import Session

from server.keys import InvalidKey, canonical_key

# Prefixes an arXiv id arrives with: OAI identifiers, the API's entry ids, the announcement feed's ids.
_ID_PREFIXES = re.compile(r"^(?:oai:arxiv\.org:|https?://(?:export\.|www\.)?arxiv\.org/abs/|arxiv:)", re.IGNORECASE)
_VERSION = re.compile(r"v(\d+)$")
_NAME_SUFFIXES = {"jr", "sr", "ii", "iii", "iv"}
MAX_TITLE = 2000
MAX_ABSTRACT = 50000


class BadEntry(ValueError):
    """An upstream entry that cannot become a whole paper; the message says why."""


class BrokenPage(ValueError):
    """A response that cannot be read at all (not well-formed XML or JSON); the message says why."""


@dataclass(frozen=True)
class FetchedPaper:
    """One paper as an upstream source describes it (arXiv ids only: every source here is keyed by them)."""

    key: str  # arxiv:<id>, version stripped
    title: str
    abstract: str
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()  # arXiv categories, the primary first
    primary_category: str | None = None
    version: int | None = None  # the latest version this source knows (2 for v2)
    version_date: datetime | None = None
    published_at: datetime | None = None  # the first version's date, from a source that knows it exactly
    published_hint: datetime | None = None  # a near date (announcement, listing), used only where none is known
    announced_at: datetime | None = None  # announcement in the daily feed
    url: str | None = None
    links: tuple[str, ...] = ()  # PDF, DOI and other links the source gives
    revision_only: bool = False  # a replacement announcement: updates a known paper, adds no new one
    # Hugging Face daily papers
    upvotes: int | None = None
    upvotes_day: date | None = None
    ai_keywords: tuple[str, ...] = ()
    github_repo: str | None = None


@dataclass(frozen=True)
class Skip:
    """An entry left out, and why (logged and kept with the run)."""

    entry: str
    reason: str

    def __str__(self) -> str:
        return f"{self.entry}: {self.reason}"


@dataclass
class Page:
    """One parsed response: stored in one transaction, together with ``on_commit`` (e.g. the OAI resume state)."""

    papers: list[FetchedPaper] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    total: int | None = None  # entries the whole run expects, for progress
    on_commit: Callable[[Session], None] | None = None


def arxiv_identity(raw: Any) -> tuple[str, int | None]:
    """``arxiv:<id>`` and the version number from any arXiv id form (``oai:arXiv.org:2401.01234v2``, an abs URL)."""
    if not isinstance(raw, str) or not raw.strip():
        raise BadEntry("no arXiv id")
    text = _ID_PREFIXES.sub("", raw.strip())
    try:
        key = canonical_key(f"arxiv:{text}")
    except InvalidKey:
        raise BadEntry(f"not an arXiv id: {raw.strip()[:100]!r}") from None
    match = _VERSION.search(text)
    return key, int(match.group(1)) if match else None


def clean(value: Any) -> str:
    """Collapse whitespace (upstream XML wraps titles and abstracts over several lines)."""
    return " ".join(str(value).split()) if value else ""


def require_text(title: Any, abstract: Any) -> tuple[str, str]:
    """A whole paper has a title and an abstract of sane size; anything else is a bad entry."""
    title, abstract = clean(title), clean(abstract)
    if not title:
        raise BadEntry("no title")
    if not abstract:
        raise BadEntry("no abstract")
    if len(title) > MAX_TITLE or len(abstract) > MAX_ABSTRACT:
        raise BadEntry("title or abstract implausibly long")
    return title, abstract


def unique(values: Any) -> tuple[str, ...]:
    out: list[str] = []
    for value in values or ():
        text = clean(value)
        if text and text not in out:
            out.append(text)
    return tuple(out)


def with_primary(categories: Any, primary: str | None) -> tuple[str, ...]:
    """Categories with the primary one first."""
    listed = unique(categories)
    if not primary:
        return listed
    return (primary, *(c for c in listed if c != primary))


def struct_to_datetime(value: Any) -> datetime | None:
    """feedparser's ``*_parsed`` (a UTC time.struct_time) as an aware datetime."""
    if not value:
        return None
    return datetime(*value[:6], tzinfo=UTC)


def iso_datetime(value: Any) -> datetime | None:
    """An ISO 8601 timestamp (``2025-02-17T18:59:59.000Z``) as an aware UTC datetime; None if absent or invalid."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def rfc2822_datetime(value: Any) -> datetime | None:
    """An e-mail style date (``Tue, 15 Apr 2008 05:47:53 GMT``, as in arXivRaw) as an aware UTC datetime."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError):
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def split_author_string(text: str) -> tuple[str, ...]:
    """Names from arXiv's free-text author line: "A. One (MIT), B. Two and C. Three" -> three names.

    Commas and " and " separate names only outside parentheses (affiliations may contain both), and the
    affiliations themselves are dropped.
    """
    names: list[str] = []
    depth = 0
    current: list[str] = []
    for char in clean(text).replace(" and ", ", "):
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        elif char == "," and depth == 0:
            names.append("".join(current))
            current = []
        elif depth == 0:
            current.append(char)
    names.append("".join(current))
    merged: list[str] = []
    for name in (clean(n) for n in names):
        if name and merged and name.rstrip(".").lower() in _NAME_SUFFIXES:
            merged[-1] = f"{merged[-1]}, {name}"  # "John Smith, Jr." is one author
        elif name:
            merged.append(name)
    return unique(merged)
