"""Canonical paper keys: one identity per paper whatever URL or id form it arrives in."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import parse_qs, quote, unquote, urlsplit

KEY_KINDS = ("arxiv", "openreview", "doi", "s2", "demo")
# The papers.key column's length: a longer canonical key names no paper PaperScout can store.
MAX_KEY_LENGTH = 300
# Longest input accepted as a key, URL or bare id (before canonicalisation).
MAX_RAW_KEY_LENGTH = 2048

# Patterns are matched whole (fullmatch) and digits are ASCII: `\d` would also take other scripts' digits.
_NEW_ARXIV = r"[0-9]{4}\.[0-9]{4,5}"
_OLD_ARXIV = r"[a-z][a-z\-]+(?:\.[A-Z]{2})?/[0-9]{7}"
_ARXIV_ID = re.compile(rf"(?P<id>{_NEW_ARXIV}|{_OLD_ARXIV})(?:v(?P<version>[0-9]+))?")
_OPENREVIEW_ID = re.compile(r"[A-Za-z0-9_\-]{4,64}")
_DOI = re.compile(r"10\.[0-9]{4,9}/\S+")
_S2_ID = re.compile(r"[0-9a-f]{40}")
# Papers of the shipped demo catalog, which has titles and abstracts but no identifiers.
_DEMO_ID = re.compile(r"[a-z0-9][a-z0-9\-]{0,120}")
# Control characters (NUL included) and lone surrogates are never part of an identifier.
_NOT_IN_KEYS = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_ARXIV_HOSTS = {"arxiv.org", "www.arxiv.org", "export.arxiv.org", "alphaxiv.org", "www.alphaxiv.org"}


class InvalidKey(ValueError):
    """Raised when a key or URL names no paper PaperScout can identify."""


def _shown(raw: str) -> str:
    """A value as error messages quote it: escaped, and cut so that a huge input gives a short message."""
    return repr(raw if len(raw) <= 80 else raw[:77] + "...")


def _arxiv(raw: str) -> str:
    raw = raw.strip()
    if raw.lower().endswith(".pdf"):
        raw = raw[:-4]
    match = _ARXIV_ID.fullmatch(raw)
    if not match:
        raise InvalidKey(f"not an arXiv id: {_shown(raw)}")
    return f"arxiv:{match.group('id')}"


def _doi(raw: str) -> str:
    doi = unquote(raw.strip()).lower()
    if not _DOI.fullmatch(doi) or _NOT_IN_KEYS.search(doi):
        raise InvalidKey(f"not a DOI: {_shown(raw)}")
    return f"doi:{doi}"


def canonical_key(value: str) -> str:
    """Return the canonical key (``arxiv:2401.01234``) for a key, a bare id or a paper URL.

    The input is NFKC-normalised first, so compatibility forms (full-width digits and letters) name the same
    paper as their ASCII forms. The result is at most MAX_KEY_LENGTH characters and holds no control
    characters or lone surrogates.
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidKey("empty paper key")
    if len(value) > MAX_RAW_KEY_LENGTH:
        raise InvalidKey("paper key too long")
    if _NOT_IN_KEYS.search(value):
        raise InvalidKey(f"control characters or invalid Unicode in paper key: {_shown(value)}")
    value = unicodedata.normalize("NFKC", value).strip()
    key = _canonical(value)
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidKey(f"paper key longer than {MAX_KEY_LENGTH} characters: {_shown(key)}")
    return key


def _canonical(value: str) -> str:
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
            if not _OPENREVIEW_ID.fullmatch(rest):
                raise InvalidKey(f"not an OpenReview id: {_shown(rest)}")
            return f"openreview:{rest}"
        if kind_lower == "demo":
            if not _DEMO_ID.fullmatch(rest):
                raise InvalidKey(f"not a demo paper id: {_shown(rest)}")
            return f"demo:{rest}"
        if not _S2_ID.fullmatch(rest.lower()):
            raise InvalidKey(f"not a Semantic Scholar id: {_shown(rest)}")
        return f"s2:{rest.lower()}"
    if value.startswith("10."):
        return _doi(value)
    try:
        return _arxiv(value)
    except InvalidKey:
        raise InvalidKey(f"unrecognised paper key: {_shown(value)}") from None


def key_from_url(url: str) -> str:
    """Derive the canonical key from a paper page URL on a supported site."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidKey(f"not an http(s) URL: {_shown(url)}")
    host = parts.hostname or ""
    path = unquote(parts.path)
    segments = [s for s in path.split("/") if s]
    if host in _ARXIV_HOSTS and len(segments) >= 2 and segments[0] in ("abs", "pdf", "html", "format"):
        return _arxiv("/".join(segments[1:]))
    if host in ("huggingface.co", "www.huggingface.co") and len(segments) == 2 and segments[0] == "papers":
        return _arxiv(segments[1])
    if host in ("openreview.net", "www.openreview.net") and segments and segments[0] in ("forum", "pdf"):
        ids = parse_qs(parts.query).get("id")
        if ids and _OPENREVIEW_ID.fullmatch(ids[0]):
            return f"openreview:{ids[0]}"
        raise InvalidKey(f"OpenReview URL without a paper id: {_shown(url)}")
    if host in ("doi.org", "dx.doi.org"):
        return _doi(path.lstrip("/"))
    if host.endswith("semanticscholar.org") and segments and segments[0] == "paper":
        candidate = segments[-1].lower()
        if _S2_ID.fullmatch(candidate):
            return f"s2:{candidate}"
        raise InvalidKey(f"Semantic Scholar URL without a paper id: {_shown(url)}")
    raise InvalidKey(f"no paper recognised in URL: {_shown(url)}")


def default_url(key: str) -> str | None:
    """The landing page of a paper on its home site (None for demo papers, which have no home site)."""
    kind, _, rest = key.partition(":")
    return {
        "arxiv": f"https://arxiv.org/abs/{rest}",
        "openreview": f"https://openreview.net/forum?id={rest}",
        # a DOI may hold characters that mean something in a URL ('#', '?', '%')
        "doi": f"https://doi.org/{quote(rest, safe='/:;()._-')}",
        "s2": f"https://www.semanticscholar.org/paper/{rest}",
        "demo": None,
    }.get(kind)
