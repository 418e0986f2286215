"""JSON from outside (request bodies, import files) parsed within bounds.

The standard parser recurses once per nesting level (thousands of levels end in RecursionError), turns
``1e999`` into infinity, accepts ``NaN`` and raises a plain ValueError for integers of more than 4,300 digits.
Here every one of those is an InvalidJson (a ValueError) with a short reason, and nesting is measured before
the parser runs, so a deep document costs one linear scan and never reaches the recursion limit.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from typing import Any

from flask.json.provider import DefaultJSONProvider

DEFAULT_MAX_DEPTH = 32

# A JSON string (escapes included), matched whole so that brackets inside strings are not counted.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class InvalidJson(ValueError):
    """A document that is not JSON, or not JSON this application accepts (too deep, non-finite numbers)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in a JSON text (brackets inside strings do not count)."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    if not brackets:
        return 0
    return max(0, max(itertools.accumulate(map(_STEP.__getitem__, brackets))))


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InvalidJson(f"number out of range: {text[:40]}")
    return value


def _no_constant(name: str) -> Any:
    raise InvalidJson(f"{name} is not a JSON number")


def loads(data: str | bytes | bytearray, *, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """Parse UTF-8 JSON; raise InvalidJson when it is malformed, nested deeper than ``max_depth`` arrays and
    objects, or holds numbers that are not finite."""
    if isinstance(data, bytes | bytearray):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidJson(f"not UTF-8 (invalid byte at offset {exc.start})") from None
    else:
        text = data
    if text.startswith("\ufeff"):
        text = text[1:]
    if nesting_depth(text) > max_depth:
        raise InvalidJson(f"nested deeper than {max_depth} levels")
    try:
        return json.loads(text, parse_float=_finite_float, parse_constant=_no_constant)
    except InvalidJson:
        raise
    except json.JSONDecodeError as exc:
        raise InvalidJson(f"{exc.msg.removesuffix(' at')} (line {exc.lineno}, column {exc.colno})") from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer of more than 4,300 digits
        raise InvalidJson(str(exc).split(";")[0][:120]) from None


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider with request JSON parsed by ``loads`` above (depth from JSON_MAX_DEPTH)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads(s, max_depth=self._app.config.get("JSON_MAX_DEPTH", DEFAULT_MAX_DEPTH))
