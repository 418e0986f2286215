"""Bounds on what a request may carry, checked before any view runs, answered in the one error shape.

- URL (request target) longer than MAX_URL_LENGTH: 414; a header field longer than MAX_HEADER_LENGTH, or more
  than MAX_HEADER_COUNT of them: 431. gunicorn's own limits (Makefile) sit above these, so it is the app, not
  gunicorn's HTML page, that answers.
- JSON bodies nested deeper than JSON_MAX_DEPTH, or holding non-finite numbers: 400 (server/json_input.py).
- Integers in paths are row ids: 1 to 2**31 - 1 (PostgreSQL's integer); anything else matches no route (404).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Flask, current_app, request
from werkzeug.routing import IntegerConverter, PathConverter

from server.errors import abort
from server.fields import PAPER_KEY_DESCRIPTION
from server.json_input import BoundedJSONProvider
from server.keys import MAX_RAW_KEY_LENGTH

MAX_PATH_ID = 2**31 - 1


class RowIdConverter(IntegerConverter):
    """``<int:...>`` path segments: positive integers that fit the id columns (else 404, not a database error)."""

    def __init__(self, map: Any, fixed_digits: int = 0, min: int = 1, max: int = MAX_PATH_ID) -> None:  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=False)


class PaperKeyConverter(PathConverter):
    """``<paperkey:...>``: a paper's key, bare id or URL (which may hold slashes); the view canonicalises it."""


def row_id_param_schema(converter: RowIdConverter) -> dict[str, Any]:
    return {"type": "integer", "minimum": converter.min, "maximum": converter.max}


def paper_key_param_schema(_converter: PaperKeyConverter) -> dict[str, Any]:
    return {
        "type": "string",
        "format": "paper-key",
        "minLength": 1,
        "maxLength": MAX_RAW_KEY_LENGTH,
        "pattern": r"^[^/\s]\S*$",
        "description": PAPER_KEY_DESCRIPTION,
    }


def init_app(app: Flask) -> None:
    """Install the JSON provider, the path converters and the size checks (before any blueprint is added)."""
    app.json = BoundedJSONProvider(app)
    app.url_map.converters["int"] = RowIdConverter
    app.url_map.converters["paperkey"] = PaperKeyConverter
    app.before_request(check_request_size)


def request_target_length(environ: dict[str, Any]) -> int:
    """Length of the request target as the client sent it (path and query string, percent-encoded)."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        return len(raw)
    path = quote(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""), safe="/:@!$&'()*+,;=-._~")
    query = environ.get("QUERY_STRING", "")
    return len(path) + (len(query) + 1 if query else 0)


def check_request_size() -> None:
    config = current_app.config
    max_url = config["MAX_URL_LENGTH"]
    if request_target_length(request.environ) > max_url:
        abort(414, f"The URL is longer than {max_url} characters.", {"url": [f"at most {max_url} characters"]})
    max_count, max_length = config["MAX_HEADER_COUNT"], config["MAX_HEADER_LENGTH"]
    headers = list(request.headers.items())
    if len(headers) > max_count:
        abort(431, f"More than {max_count} header fields.", {"headers": [f"at most {max_count} fields"]})
    for name, value in headers:
        if len(name) + len(value) + 2 > max_length:
            abort(
                431,
                f"The header field {name[:40]} is longer than {max_length} characters.",
                {"headers": {name[:40]: [f"at most {max_length} characters with its name"]}},
            )
