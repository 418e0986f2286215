"""The web app's blueprint and what its views share: sign-in guard, safe redirects, forms, error pages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import HTTPException, InternalServerError

from server.security import csrf_token_for
from server.security.csrf import CSRF_FORM_FIELD
from server.services.catalog import shown_url
from server.services.topics import CATEGORIES

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/static")
_F = TypeVar("_F", bound=Callable[..., Any])
MAX_AUTHORS_SHOWN = 6
ERROR_TITLES = {
    400: "That request did not make sense",
    401: "Please sign in",
    403: "That was refused",
    404: "Page not found",
    405: "That cannot be done here",
    413: "That was too large",
    422: "Some fields need another look",
    429: "Too many attempts",
}


def signed_in(view: _F) -> _F:
    """Pages of the signed-in reader: anyone else is sent to the sign-in page, and back here afterwards."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            if request.method == "GET":
                return redirect(url_for("web.sign_in", next=request.full_path.rstrip("?")))
            return redirect(url_for("web.sign_in"))
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def safe_next(target: str | None, default: str) -> str:
    """A redirect target from a form or query: only a path on this server (never another host)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else default


def wants_json() -> bool:
    """A request from the page's script (fetch with Accept: application/json), not a plain form."""
    return request.accept_mimetypes.best == "application/json"


def done(payload: dict[str, Any], next_default: str) -> Response:
    """The answer to an action: JSON for the page's script, a redirect (303: then GET) for a plain form."""
    if wants_json():
        return jsonify(payload)
    return redirect(safe_next(request.form.get("next"), next_default), code=303)


def form_text(name: str, limit: int = 1000) -> str:
    value = request.form.get(name, "")
    return value[:limit] if isinstance(value, str) else ""


def render_error(error: HTTPException) -> tuple[str, int, dict[str, str]]:
    code = error.code or 500
    if isinstance(error, InternalServerError) or code >= 500:
        if getattr(error, "original_exception", None) is not None:
            current_app.logger.error("unhandled error", exc_info=error.original_exception)
        code = 500 if code < 500 else code
    data = getattr(error, "data", None) or {}
    message = data.get("message") or (error.description if code < 500 else "")
    if code == 403 and "CSRF" in str(message):
        message = "This form had expired or came from elsewhere. Go back, reload the page and try again."
    title = ERROR_TITLES.get(code, "Something went wrong on our side" if code >= 500 else "That did not work")
    headers = dict(data.get("headers") or {})
    body = render_template("error.html", code=code, title=title, message=message)
    return body, code, headers


@bp.app_template_filter("day")
def day(value: datetime | None) -> str:
    return value.strftime("%-d %b %Y") if value else ""


@bp.app_template_filter("authors")
def authors(names: list[str] | None) -> str:
    names = list(names or [])
    shown = ", ".join(names[:MAX_AUTHORS_SHOWN])
    return shown + (f" and {len(names) - MAX_AUTHORS_SHOWN} more" if len(names) > MAX_AUTHORS_SHOWN else "")


@bp.app_context_processor
def _page_context() -> dict[str, Any]:
    def csrf_field() -> str:
        return csrf_token_for(current_user) if current_user.is_authenticated else ""

    return {
        "csrf_token": csrf_field,
        "csrf_field_name": CSRF_FORM_FIELD,
        "category_names": CATEGORIES,
        "shown_url": shown_url,
    }
