"""Feeds (server/services/feeds.py) as Atom 1.0 documents (RFC 4287), written with lxml."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import quote

from lxml import etree

from server.api.serialize import shown_url
from server.services.feeds import Feed, FeedEntry

ATOM_NS = "http://www.w3.org/2005/Atom"
ATOM_MIMETYPE = "application/atom+xml"
MAX_AUTHORS = 30
MAX_CATEGORIES = 10
# Characters XML 1.0 cannot hold at all (most C0 controls, lone surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value: str) -> str:
    return _NOT_XML.sub("", value or "")


def _date(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def entry_id(key: str) -> str:
    """A paper's entry id: the same in every feed and for ever (its canonical key, as a URN)."""
    return "urn:paperscout:paper:" + quote(key, safe=":/._-")


def feed_id(user_id: int, name: str) -> str:
    """A feed's id: per user and list, unchanged when the feed token is rotated."""
    return f"urn:paperscout:user:{user_id}:feed:{name}"


def _add(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ATOM_NS}}}{tag}", **attrs)
    if text is not None:
        element.text = _text(text)
    return element


def _entry(root: etree._Element, item: FeedEntry, paper_page: Callable[[str], str]) -> None:
    paper = item.paper
    entry = _add(root, "entry")
    _add(entry, "id", entry_id(paper.key))
    _add(entry, "title", paper.title or paper.key, type="text")
    _add(entry, "updated", _date(item.updated))
    if paper.published_at:
        _add(entry, "published", _date(paper.published_at))
    _add(
        entry, "link", rel="alternate", type="text/html", href=shown_url(paper.key, paper.url) or paper_page(paper.key)
    )
    for name in (paper.authors or [])[:MAX_AUTHORS]:
        _add(_add(entry, "author"), "name", name)
    for keyword in (paper.keywords or [])[:MAX_CATEGORIES]:
        _add(entry, "category", term=_text(keyword))
    why = "Why: " + "; ".join(item.reasons) if item.reasons else ""
    _add(entry, "summary", "\n\n".join(part for part in (why, paper.abstract) if part), type="text")


def render_feed(feed: Feed, *, self_url: str, home_url: str, paper_page: Callable[[str], str]) -> bytes:
    """The feed as an Atom document; ``paper_page(key)`` is the link of papers without a page of their own."""
    root = etree.Element(f"{{{ATOM_NS}}}feed", nsmap={None: ATOM_NS})
    _add(root, "id", feed_id(feed.user_id, feed.name))
    _add(root, "title", f"PaperScout: {feed.title}", type="text")
    _add(root, "updated", _date(feed.updated))
    _add(root, "link", rel="self", type=ATOM_MIMETYPE, href=self_url)
    _add(root, "link", rel="alternate", type="text/html", href=home_url)
    # Entries without authors need one from the feed (RFC 4287 4.1.1).
    _add(_add(root, "author"), "name", "PaperScout")
    _add(root, "generator", "PaperScout")
    for item in feed.entries:
        _entry(root, item, paper_page)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)
