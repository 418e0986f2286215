"""Security headers on every response, and `Cache-Control: no-store` where a response carries secrets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, current_app, request

# HTML (the pages a later issue adds): scripts, styles and images from this server only, no inline script.
HTML_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# The web app's pages send no referrer to other sites, but keep it (and so the Origin header) on their own
# forms: under no-referrer, browsers send `Origin: null` with a same-origin form, which the CSRF check refuses.
HTML_REFERRER_POLICY = "same-origin"
# JSON and everything else: nothing is to be loaded or framed because of it.
OTHER_CSP = "default-src 'none'; frame-ancestors 'none'"
BASE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
_NO_STORE = "paperscout_no_store"
_F = TypeVar("_F", bound=Callable[..., Any])


def no_store(view: _F) -> _F:
    """Mark a view whose responses carry tokens or personal exports: no cache may keep them.

    The mark is an attribute, which functools.wraps copies onto every decorator stacked above.
    """
    setattr(view, _NO_STORE, True)
    return view


def init_app(app: Flask) -> None:
    app.after_request(_security_headers)


def _security_headers(response: Response) -> Response:
    if response.mimetype == "text/html":
        response.headers.setdefault("Referrer-Policy", HTML_REFERRER_POLICY)
    for name, value in BASE_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Content-Security-Policy", HTML_CSP if response.mimetype == "text/html" else OTHER_CSP)
    view = current_app.view_functions.get(request.endpoint or "")
    if view is not None and getattr(view, _NO_STORE, False):
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    return response
