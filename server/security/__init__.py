"""Web security: CSRF proof for cookie sessions, CORS for the extension, response headers, abuse limits.

Each part is a small module with its own init_app; create_app calls init_app here once the API is registered
(the limits wrap registered views).
"""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from server.security import cors, csrf, headers, limits
from server.security.csrf import csrf_token_for
from server.security.headers import no_store

__all__ = ["csrf_token_for", "init_app", "no_store"]


def init_app(app: Flask) -> None:
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies < 0:
        raise ValueError(f"PAPERSCOUT_TRUSTED_PROXIES must be 0 or more, not {proxies}")
    if proxies:
        # Only then is X-Forwarded-For the client's address (rate limits) and X-Forwarded-Proto/-Host the
        # origin the browser saw (CSRF origin check); without proxies these headers are client-controlled.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)  # type: ignore[method-assign]
    cors.init_app(app)
    csrf.init_app(app)
    headers.init_app(app)
    limits.init_app(app)
