"""Marshmallow fields shared by every schema that reads input.

Text from outside is SafeString (or a field built on it), so the whole API rejects a NUL character or a lone
surrogate the same way on every database: PostgreSQL cannot store a NUL, and neither database (nor UTF-8) can
store a lone surrogate, which JSON's "\\ud800" escapes produce.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from marshmallow import ValidationError, fields, validate

from server.keys import MAX_KEY_LENGTH, MAX_RAW_KEY_LENGTH, InvalidKey, canonical_key

# Largest row id a query may name: PostgreSQL's bigint and SQLite's INTEGER are both signed 64-bit.
MAX_ROW_ID = 2**63 - 1
_WHITESPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")

PAPER_KEY_DESCRIPTION = (
    "A paper's identity in any accepted form: a canonical key (`arxiv:2401.01234`, `openreview:<id>`, "
    "`doi:10.<registrant>/<suffix>`, `s2:<40 hex digits>`, `demo:<slug>`), a bare arXiv id or DOI, or the URL "
    "of the paper's page on arxiv.org, alphaxiv.org, huggingface.co/papers, openreview.net, doi.org or "
    f"semanticscholar.org. Canonical keys are at most {MAX_KEY_LENGTH} characters."
)
CANONICAL_KEY_PATTERN = rf"^(arxiv|openreview|doi|s2|demo):\S{{1,{MAX_KEY_LENGTH - len('s2:')}}}$"


def text_problem(value: str) -> str | None:
    """Why a string cannot be stored as text (NUL, lone surrogate), or None when it can."""
    if "\x00" in value:
        return "Must not contain NUL (U+0000) characters."
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "Must be valid Unicode: a lone surrogate (U+D800 to U+DFFF) is not text."
    return None


class SafeString(fields.String):
    """A string that every database can store: no NUL characters, no lone surrogates."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        problem = text_problem(text)
        if problem:
            raise ValidationError(problem)
        return text


class SafeEmail(SafeString, fields.Email):
    """An email address (documented with format `email`), as text every database can store."""


class StrictBoolean(fields.Boolean):
    """JSON true or false only: 0, 1, "yes" and the other forms marshmallow's Boolean takes are refused."""

    default_error_messages = {"invalid": "Must be true or false."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if value is True or value is False:
            return value
        raise self.make_error("invalid")


class HttpUrl(SafeString):
    """An absolute http or https URL with a host, no whitespace or control characters."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {}).setdefault("format", "uri")
        kwargs.setdefault("validate", validate.Length(min=1, max=MAX_RAW_KEY_LENGTH))
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        url = super()._deserialize(value, attr, data, **kwargs)
        if not is_http_url(url):
            raise ValidationError("Must be an absolute http:// or https:// URL.")
        return url


def is_http_url(url: str) -> bool:
    """Whether a URL is absolute http(s) with a host and holds no whitespace or control characters."""
    if _WHITESPACE_OR_CONTROL.search(url) or text_problem(url):
        return False
    try:
        parts = urlsplit(url)
        return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. an invalid port or IPv6 literal
        return False


class PaperKey(SafeString):
    """Any accepted form of a paper's identity (key, URL, arXiv id, DOI), loaded as its canonical key."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = kwargs.setdefault("metadata", {})
        metadata.setdefault("format", "paper-key")
        metadata.setdefault("description", PAPER_KEY_DESCRIPTION)
        kwargs.setdefault("validate", validate.Length(min=1, max=MAX_RAW_KEY_LENGTH))
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        raw = super()._deserialize(value, attr, data, **kwargs)
        try:
            return canonical_key(raw)
        except InvalidKey as exc:
            raise ValidationError(str(exc)) from None


def parse_datetime(text: str) -> datetime:
    """An ISO 8601 date or datetime as an aware UTC datetime (dates mean midnight UTC); ValueError when it is
    not one, or when it lies outside the years 1000 to 9999 once in UTC (so storing it cannot overflow)."""
    text = text.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = datetime.combine(date.fromisoformat(text), datetime.min.time())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        parsed = parsed.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59:59-01:00 is in year 10000 in UTC
        raise ValueError("date out of range") from None
    if not 1000 <= parsed.year <= 9999:
        raise ValueError("date out of range")
    return parsed


class FlexibleDate(fields.Field):
    """An ISO date or datetime; dates mean midnight UTC; years 1000 to 9999 (in UTC)."""

    default_error_messages = {"invalid": "Not a valid ISO 8601 date or datetime between the years 1000 and 9999."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {}).update({"type": "string", "format": "date-time"})
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        if not isinstance(value, str) or len(value) > 40:
            raise self.make_error("invalid")
        try:
            return parse_datetime(value)
        except ValueError:
            raise self.make_error("invalid") from None

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else value.isoformat()


class JsonValue(fields.Raw):
    """Free-form JSON (an event's context values): bounded depth and size, storable text, finite numbers."""

    MAX_DEPTH = 3
    MAX_ITEMS = 20
    MAX_STRING = 1000

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        problem = self._problem(value, 1)
        if problem:
            raise ValidationError(problem)
        return value

    def _problem(self, value: Any, depth: int) -> str | None:
        if value is None or isinstance(value, bool):
            return None
        if isinstance(value, int):
            return None if abs(value) <= MAX_ROW_ID else "Integers must fit in 64 bits."
        if isinstance(value, float):
            return None if math.isfinite(value) else "Numbers must be finite."
        if isinstance(value, str):
            if len(value) > self.MAX_STRING:
                return f"Strings hold at most {self.MAX_STRING} characters."
            return text_problem(value)
        if not isinstance(value, list | dict):
            return "Not a JSON value."
        if depth > self.MAX_DEPTH:
            return f"Nested at most {self.MAX_DEPTH} levels deep."
        if len(value) > self.MAX_ITEMS:
            return f"Arrays and objects hold at most {self.MAX_ITEMS} entries."
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            problem = (text_problem(key) if isinstance(key, str) else None) or self._problem(item, depth + 1)
            if problem:
                return problem
        return None


# Saves pages: a cursor is base64url (no padding) of the JSON array [saved_at as ISO 8601, paper id].
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{1,200}$"
CURSOR_DESCRIPTION = (
    "Opaque position in the list: the `next_cursor` of the previous page (base64url of `[saved_at, paper id]`)."
)


def encode_cursor(saved_at: datetime, paper_id: int) -> str:
    raw = json.dumps([saved_at.isoformat(), paper_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class SaveCursor(fields.String):
    """A saves-page cursor, loaded as (saved_at, paper id) with both inside what the database can compare."""

    default_error_messages = {"invalid": "Invalid cursor; use the next_cursor of a previous page."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {}).update(
            {"format": "cursor", "pattern": CURSOR_PATTERN, "description": CURSOR_DESCRIPTION}
        )
        kwargs.setdefault("validate", validate.Length(max=200))
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> tuple[datetime, int]:
        cursor = super()._deserialize(value, attr, data, **kwargs)
        try:
            if not re.fullmatch(CURSOR_PATTERN, cursor):
                raise ValueError("not base64url")
            stamp, paper_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            if not isinstance(stamp, str) or len(stamp) > 40 or type(paper_id) is not int:
                raise ValueError("not [datetime, id]")
            if not 0 <= paper_id <= MAX_ROW_ID:
                raise ValueError("paper id out of range")
            return parse_datetime(stamp), paper_id
        except (ValueError, TypeError, binascii.Error):
            raise self.make_error("invalid") from None


MAX_PERIOD_DAYS = 30
PERIOD_PATTERN = r"^[1-9][0-9]?d$"


class DayPeriod(SafeString):
    """A look-back period of whole days (``1d`` to ``30d``), loaded as a ``timedelta``. Bounded so a "new for you"
    list ranks a bounded set of papers."""

    default_error_messages = {"invalid_period": f"Use a number of days from 1 to {MAX_PERIOD_DAYS}, like 1d or 7d."}

    def __init__(self, **kwargs: Any) -> None:
        metadata = kwargs.setdefault("metadata", {})
        metadata.setdefault("pattern", PERIOD_PATTERN)
        metadata.setdefault("description", f"Days back from now: 1d to {MAX_PERIOD_DAYS}d.")
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> timedelta:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not re.fullmatch(PERIOD_PATTERN, text) or int(text[:-1]) > MAX_PERIOD_DAYS:
            raise self.make_error("invalid_period")
        return timedelta(days=int(text[:-1]))
