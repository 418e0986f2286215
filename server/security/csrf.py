"""CSRF: a state change authenticated by the session cookie must carry a token that a cross-site page
cannot read, and no unsafe request is taken from a foreign Origin.

SameSite=Lax is not enough: it does not separate other ports of the same host (a page on
http://127.0.0.1:8080 is "same-site" with the API on :5000), and a form can send text/plain. Bearer-token
requests are exempt: a token is never sent by the browser on its own, and the session loader ignores the
cookie of any request that carries an Authorization header.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import Flask, current_app, request
from flask_login import current_user

from server.errors import abort
from server.models import User
from server.security.cors import extension_origins

CSRF_HEADER = "X-CSRF-Token"
CSRF_FORM_FIELD = "csrf_token"  # in the web app's forms (server/web)
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORM_MIMETYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
# These authenticate with the credentials in their body, not with the cookie; the Origin check still applies,
# so another site cannot sign a browser into an account of its choosing.
CREDENTIAL_ENDPOINTS = frozenset({"auth.login", "auth.register", "web.sign_in", "web.sign_up"})


def csrf_token_for(user: User) -> str:
    """The CSRF token of the user's cookie sessions; rotating the session secret replaces it."""
    secret = current_app.config["SECRET_KEY"]
    key = secret if isinstance(secret, bytes) else str(secret).encode()
    return hmac.new(key, b"paperscout-csrf\0" + user.session_token.encode(), hashlib.sha256).hexdigest()


def init_app(app: Flask) -> None:
    app.before_request(_protect)


def _protect() -> None:
    if request.method not in UNSAFE_METHODS or request.headers.get("Authorization"):
        return
    origin = request.headers.get("Origin")
    if origin is not None and not _trusted_origin(origin):
        abort(
            403,
            "Cross-site request refused: this origin may not change anything here.",
            {"origin": [f"{origin[:100]} is neither this server nor an allowed extension origin"]},
        )
    if request.endpoint in CREDENTIAL_ENDPOINTS or not current_user.is_authenticated:
        # Without a live cookie session there is nothing to forge; protected views answer 401 themselves.
        return
    sent = request.headers.get(CSRF_HEADER) or _form_token()
    if not sent or not hmac.compare_digest(sent.encode(), csrf_token_for(current_user).encode()):
        abort(
            403,
            f"Missing or wrong CSRF token: send the {CSRF_HEADER} header from GET /api/v1/auth/csrf, "
            "or authenticate with a bearer token.",
            {CSRF_HEADER: ["missing or wrong"]},
        )


def _trusted_origin(origin: str) -> bool:
    own = request.host_url.rstrip("/").lower()
    return origin.strip().lower() == own or extension_origins().allows(origin)


def _form_token() -> str | None:
    if request.mimetype not in FORM_MIMETYPES:
        return None
    value = request.form.get(CSRF_FORM_FIELD)
    return value if isinstance(value, str) else None
