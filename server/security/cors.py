"""CORS for the configured extension origins only; no origin is ever granted credentials (cookies).

The extension authenticates with a bearer token and `credentials: 'omit'`. Extension pages that hold a host
permission for the server are not subject to CORS in Chrome or Firefox at all; these headers serve an extension
that reaches a server it has no host permission for, and make errors (429 and its Retry-After) readable.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask import Flask, Response, current_app, request

# Schemes whose every origin may be allowed with "<scheme>://*": Firefox gives each install a random
# moz-extension://<uuid>, which a server cannot know in advance. No web scheme may be wildcarded.
EXTENSION_SCHEMES = frozenset({"chrome-extension", "moz-extension", "safari-web-extension"})
ALLOWED_METHODS = "GET, POST, PUT, PATCH, DELETE"
ALLOWED_HEADERS = "Authorization, Content-Type, X-CSRF-Token"
EXPOSED_HEADERS = "Retry-After, Content-Disposition"
PREFLIGHT_MAX_AGE_SECONDS = 600


@dataclass(frozen=True)
class ExtensionOrigins:
    """The origins (exact, or every origin of an extension scheme) allowed to call the API cross-origin."""

    exact: frozenset[str]
    any_of_scheme: frozenset[str]

    @classmethod
    def parse(cls, value: str | Iterable[str]) -> ExtensionOrigins:
        entries = value.split(",") if isinstance(value, str) else list(value)
        exact: set[str] = set()
        schemes: set[str] = set()
        for raw in entries:
            entry = raw.strip().lower().rstrip("/")
            if not entry:
                continue
            scheme, sep, rest = entry.partition("://")
            if not sep or not scheme or not rest or "/" in rest:
                raise ValueError(f"PAPERSCOUT_EXTENSION_ORIGINS: {raw.strip()!r} is not an origin (scheme://host)")
            if rest == "*":
                if scheme not in EXTENSION_SCHEMES:
                    raise ValueError(
                        f"PAPERSCOUT_EXTENSION_ORIGINS: {raw.strip()!r}: only extension schemes "
                        f"({', '.join(sorted(EXTENSION_SCHEMES))}) may be allowed with '*'"
                    )
                schemes.add(scheme)
            elif "*" in rest:
                raise ValueError(f"PAPERSCOUT_EXTENSION_ORIGINS: {raw.strip()!r}: '*' must stand alone")
            else:
                exact.add(entry)
        return cls(frozenset(exact), frozenset(schemes))

    def allows(self, origin: str | None) -> bool:
        if not origin:
            return False
        origin = origin.strip().lower()
        if origin in self.exact:
            return True
        scheme, sep, rest = origin.partition("://")
        return bool(sep and rest) and scheme in self.any_of_scheme and "/" not in rest


def extension_origins() -> ExtensionOrigins:
    return current_app.extensions["paperscout_extension_origins"]


def init_app(app: Flask) -> None:
    app.extensions["paperscout_extension_origins"] = ExtensionOrigins.parse(app.config["EXTENSION_ORIGINS"])
    app.after_request(_cors_headers)


def _cors_headers(response: Response) -> Response:
    # Every answer depends on the Origin (CORS headers, and 403 for foreign unsafe requests): caches must know.
    response.vary.add("Origin")
    origin = request.headers.get("Origin")
    if not extension_origins().allows(origin):
        return response
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
        response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE_SECONDS)
    return response
