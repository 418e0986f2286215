"""Canonical paper keys: one identity per paper whatever URL or id form it arrives in."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, unquote, urlsplit

KEY_KINDS = ("arxiv", "openreview", "doi", "s2", "demo")

_NEW_ARXIV = r"\d{4}\.\d{4,5}"
_OLD_ARXIV = r"[a-z][a-z\-]+(?:\.[A-Z]{2})?/\d{7}"
_ARXIV_ID = re.compile(rf"^(?P<id>{_NEW_ARXIV}|{_OLD_ARXIV})(?:v(?P<version>\d+))?$")
_OPENREVIEW_ID = re.compile(r"^[A-Za-z0-9_\-]{4,64}$")
_DOI = re.compile(r"^10\.\d{4,9}/\S+$")
_S2_ID = re.compile(r"^[0-9a-f]{40}$")
# Papers of the shipped demo catalog, which has titles and abstracts but no identifiers.
_DEMO_ID = re.compile(r"^[a-z0-9][a-z0-9\-]{0,120}$")
_ARXIV_HOSTS = {"arxiv.org", "www.arxiv.org", "export.arxiv.org", "alphaxiv.org", "www.alphaxiv.org"}


class InvalidKey(ValueError):
    """Raised when a key or URL names no paper PaperScout can identify."""


def _arxiv(raw: str) -> str:
    raw = raw.strip()
    if raw.lower().endswith(".pdf"):
        raw = raw[:-4]
    match = _ARXIV_ID.match(raw)
    if not match:
        raise InvalidKey(f"not an arXiv id: {raw!r}")
    return f"arxiv:{match.group('id')}"


def _doi(raw: str) -> str:
    doi = unquote(raw.strip()).lower()
    if not _DOI.match(doi):
        raise InvalidKey(f"not a DOI: {raw!r}")
    return f"doi:{doi}"


def canonical_key(value: str) -> str:
    """Return the canonical key (``arxiv:2401.01234``) for a key, a bare id or a paper URL."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidKey("empty paper key")
    value = value.strip()
    if len(value) > 2048:
        raise InvalidKey("paper key too long")
    if "://" in value:
        return key_from_url(value)
    kind, sep, rest = value.partition(":")
    kind_lower = kind.lower()
    if sep and kind_lower in KEY_KINDS:
        if kind_lower == "arxiv":
            return _arxiv(rest)
        if kind_lower == "doi":
            return _doi(rest)
        if kind_lower == "openreview":
            if not _OPENREVIEW_ID.match(rest):
                raise InvalidKey(f"not an OpenReview id: {rest!r}")
            return f"openreview:{rest}"
        if kind_lower == "demo":
            if not _DEMO_ID.match(rest):
                raise InvalidKey(f"not a demo paper id: {rest!r}")
            return f"demo:{rest}"
        if not _S2_ID.match(rest.lower()):
            raise InvalidKey(f"not a Semantic Scholar id: {rest!r}")
        return f"s2:{rest.lower()}"
    if value.startswith("10."):
        return _doi(value)
    try:
        return _arxiv(value)
    except InvalidKey:
        raise InvalidKey(f"unrecognised paper key: {value!r}") from None


def key_from_url(url: str) -> str:
    """Derive the canonical key from a paper page URL on a supported site."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidKey(f"not an http(s) URL: {url!r}")
    host = parts.hostname or ""
    path = unquote(parts.path)
    segments = [s for s in path.split("/") if s]
    if host in _ARXIV_HOSTS and len(segments) >= 2 and segments[0] in ("abs", "pdf", "html", "format"):
        return _arxiv("/".join(segments[1:]))
    if host in ("huggingface.co", "www.huggingface.co") and len(segments) == 2 and segments[0] == "papers":
        return _arxiv(segments[1])
    if host in ("openreview.net", "www.openreview.net") and segments and segments[0] in ("forum", "pdf"):
        ids = parse_qs(parts.query).get("id")
        if ids and _OPENREVIEW_ID.match(ids[0]):
            return f"openreview:{ids[0]}"
        raise InvalidKey(f"OpenReview URL without a paper id: {url!r}")
    if host in ("doi.org", "dx.doi.org"):
        return _doi(path.lstrip("/"))
    if host.endswith("semanticscholar.org") and segments and segments[0] == "paper":
        candidate = segments[-1].lower()
        if _S2_ID.match(candidate):
            return f"s2:{candidate}"
        raise InvalidKey(f"Semantic Scholar URL without a paper id: {url!r}")
    raise InvalidKey(f"no paper recognised in URL: {url!r}")


def default_url(key: str) -> str | None:
    """The landing page of a paper on its home site."""
    kind, _, rest = key.partition(":")
    return {
        "arxiv": f"https://arxiv.org/abs/{rest}",
        "openreview": f"https://openreview.net/forum?id={rest}",
        "doi": f"https://doi.org/{rest}",
        "s2": f"https://www.semanticscholar.org/paper/{rest}",
        "demo": None,
    }.get(kind)
