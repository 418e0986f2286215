"""The web app at `/`: server-rendered pages over the same services as the API (docs/web.md).

Pages are Jinja templates with a small stylesheet and one ES module that enhances the plain forms (no build
step). Errors of these pages, and unknown paths asked for by a browser, are rendered as pages; the API keeps
its JSON error shape.
"""

from __future__ import annotations

from flask import Flask, request
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from server.web import accounts, outlets, pages, settings  # noqa: F401 - they add their views to the blueprint
from server.web.blueprint import bp, render_error, wants_json

# Paths that never get an HTML error page, whoever asks.
MACHINE_PREFIXES = ("/api/", "/feeds/", "/healthz")


def init_app(app: Flask, api: Api) -> None:
    """Register the pages; call before server.security.init_app, whose limits wrap the sign-in views."""
    app.register_blueprint(bp)

    def handle(error: HTTPException):  # noqa: ANN202 - a response in either form
        if _wants_page():
            return render_error(error)
        return api.handle_http_exception(error)

    # Replaces the API's handler for every HTTP error, and hands it back every error that is not a page's.
    app.register_error_handler(HTTPException, handle)


def _wants_page() -> bool:
    if request.path.startswith(MACHINE_PREFIXES) or wants_json():
        return False
    if request.blueprint == bp.name:
        return True
    # An unknown path: a page for a browser (which names text/html), the error shape for everyone else.
    return "text/html" in request.headers.get("Accept", "")
