"""Abuse limits with Flask-Limiter: sign-in and registration per client address, failed password checks per
account, event batches per user. 429 answers use the one error shape and carry Retry-After.

Storage is in-memory by default (per worker process) and Redis when PAPERSCOUT_RATELIMIT_STORAGE_URL says so
(shared by every worker and machine). Each app gets a Limiter of its own, so apps with different settings
(tests, several servers in one process) never share counters.

Per-account limit: only failed password checks count (a 401 at login, a 403 at password change), from any
address. The limit is tested before the password is checked and counted after the answer, so:
- a user who signs in successfully, however often, never uses it up (the extension signs in again freely);
- a password guesser gets at most the limit's number of guesses per window at one account, however many
  addresses it spreads them over, and once it holds, even the right password is not checked (no oracle);
- the price: someone who knows an email can keep that account from signing in with its password for the
  window by failing on purpose. Sessions and tokens already issued keep working (the extension goes on),
  the lock ends by itself after the window, and the attacker's attempts count against the per-address limit.
  Counting successes too would not help against that and would lock out busy legitimate users.
- unknown emails have buckets of their own and answer like known ones (401, then 429): nothing is revealed.
Testing and counting are two steps, so a burst of concurrent failures can overshoot by the requests in flight.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, Response, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user
from flask_smorest.error_handler import ErrorSchema
from limits import parse_many

from server.auth import normalise_email

CONFIG_VARIABLES = {
    "RATELIMIT_LOGIN_PER_IP": "PAPERSCOUT_RATELIMIT_LOGIN_PER_IP",
    "RATELIMIT_LOGIN_FAILURES_PER_ACCOUNT": "PAPERSCOUT_RATELIMIT_LOGIN_FAILURES_PER_ACCOUNT",
    "RATELIMIT_REGISTER_PER_IP": "PAPERSCOUT_RATELIMIT_REGISTER_PER_IP",
    "RATELIMIT_EVENTS_PER_USER": "PAPERSCOUT_RATELIMIT_EVENTS_PER_USER",
    "RATELIMIT_FEEDS_PER_IP": "PAPERSCOUT_RATELIMIT_FEEDS_PER_IP",
}
# Failed password checks of one account, whichever endpoint made them, count in one bucket.
ACCOUNT_SCOPE = "password-failures"
# For @blp.alt_response(429, **RATE_LIMITED) on the limited operations of the OpenAPI document.
RATE_LIMITED = {
    "schema": ErrorSchema,
    "description": "Rate limited: the error shape; retry after the number of seconds in Retry-After.",
    "headers": {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer", "minimum": 1}}},
}


def client_address() -> str:
    # The socket's address; X-Forwarded-For only through ProxyFix (PAPERSCOUT_TRUSTED_PROXIES).
    return "address:" + (get_remote_address() or "unknown")


def account_key(email: str) -> str:
    # Hashed: the storage (Redis) never holds email addresses.
    digest = hashlib.sha256(normalise_email(email).encode("utf-8", "surrogatepass")).hexdigest()
    return "account:" + digest[:32]


def account_in_body() -> str:
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # absurdly nested JSON; the view rejects the body itself
        body = None
    email = body.get("email") if isinstance(body, dict) else None
    if email is None and request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        email = request.form.get("email")  # the web app's sign-in form
    # Without an email the request fails validation (422), which is never counted.
    return account_key(email) if isinstance(email, str) else "account:none"


def signed_in_account() -> str:
    return account_key(current_user.email) if current_user.is_authenticated else client_address()


def signed_in_user() -> str:
    return f"user:{current_user.id}" if current_user.is_authenticated else client_address()


@dataclass(frozen=True)
class EndpointLimit:
    endpoint: str
    setting: str  # app.config key holding the limit ("30 per minute")
    key: Callable[[], str]
    message: str
    shared_scope: str | None = None
    count_only_status: int | None = None  # count only responses with this status (failed password checks)
    methods: tuple[str, ...] | None = None  # count only these methods (None: all; a page's GET is not an attempt)


def _password_failures(
    endpoint: str, key: Callable[[], str], status: int, message: str, methods: tuple[str, ...] | None = None
) -> EndpointLimit:
    """Failed password checks of one account, counted in the one bucket every such endpoint shares."""
    return EndpointLimit(
        endpoint,
        "RATELIMIT_LOGIN_FAILURES_PER_ACCOUNT",
        key,
        message,
        shared_scope=ACCOUNT_SCOPE,
        count_only_status=status,
        methods=methods,
    )


_FAILED_SIGN_IN = "Too many failed sign-ins for this account."
_WRONG_PASSWORD = "Too many wrong passwords for this account."
_SIGN_INS = "Too many sign-in attempts from this address."
_NEW_ACCOUNTS = "Too many new accounts from this address."
_POST = ("POST",)  # the web app's forms: showing the page is no attempt
LIMITS = (
    EndpointLimit("auth.login", "RATELIMIT_LOGIN_PER_IP", client_address, _SIGN_INS),
    _password_failures("auth.login", account_in_body, 401, _FAILED_SIGN_IN),
    _password_failures("me.change_password", signed_in_account, 403, _WRONG_PASSWORD),
    EndpointLimit("web.sign_in", "RATELIMIT_LOGIN_PER_IP", client_address, _SIGN_INS, methods=_POST),
    _password_failures("web.sign_in", account_in_body, 401, _FAILED_SIGN_IN, _POST),
    _password_failures("web.settings_password", signed_in_account, 403, _WRONG_PASSWORD),
    EndpointLimit("web.sign_up", "RATELIMIT_REGISTER_PER_IP", client_address, _NEW_ACCOUNTS, methods=_POST),
    EndpointLimit("auth.register", "RATELIMIT_REGISTER_PER_IP", client_address, _NEW_ACCOUNTS),
    EndpointLimit(
        "events.post_events", "RATELIMIT_EVENTS_PER_USER", signed_in_user, "Too many event batches; slow down."
    ),
    # Feed readers poll without signing in: per address, whatever the token (a guesser is held back too).
    EndpointLimit("feeds.feed", "RATELIMIT_FEEDS_PER_IP", client_address, "Too many feed requests from this address."),
)


def init_app(app: Flask) -> None:
    for setting, variable in CONFIG_VARIABLES.items():
        try:
            if not parse_many(str(app.config[setting])):
                raise ValueError("empty")
        except ValueError:
            raise ValueError(
                f"{variable}: {app.config[setting]!r} is not a rate limit (write e.g. '30 per minute')"
            ) from None
    app.config.setdefault("RATELIMIT_STRATEGY", "moving-window")
    # A storage outage must not turn into 500s: fall back to per-process memory counters until it is back.
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    limiter = Limiter(key_func=client_address, app=app)
    app.extensions["paperscout_limiter"] = limiter
    for limit in LIMITS:
        view = app.view_functions[limit.endpoint]
        app.view_functions[limit.endpoint] = _decorator(limiter, limit, app.config[limit.setting])(view)
    app.after_request(_retry_after)


def _decorator(limiter: Limiter, limit: EndpointLimit, value: str) -> Callable:
    deduct_when = None
    if limit.count_only_status is not None:
        status = limit.count_only_status

        def deduct_when(response: Response) -> bool:
            return response.status_code == status

    message = f"{limit.message} Try again after the time in the Retry-After header."
    methods = list(limit.methods) if limit.methods else None
    if limit.shared_scope:
        return limiter.shared_limit(
            value,
            limit.shared_scope,
            key_func=limit.key,
            deduct_when=deduct_when,
            error_message=message,
            methods=methods,
        )
    return limiter.limit(value, key_func=limit.key, deduct_when=deduct_when, error_message=message, methods=methods)


def _retry_after(response: Response) -> Response:
    if response.status_code != 429:
        return response
    breached = current_app.extensions["paperscout_limiter"].current_limit
    seconds = 60
    if breached is not None:
        try:
            seconds = math.ceil(breached.reset_at - time.time())
        except Exception:  # noqa: BLE001 - the storage went away since the check: still answer with a hint
            pass
    response.headers["Retry-After"] = str(max(1, seconds))
    return response
