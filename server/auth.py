"""Authentication: session cookies for pages, bearer tokens for the extension, both through flask-login."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, current_app, g, request
from flask_login import LoginManager, current_user
from sqlalchemy import Select, or_, select, update

from server.db import db, immediate_writes
from server.errors import abort
from server.models import ApiToken, User

login_manager = LoginManager()
TOKEN_PREFIX = "ps_"
_F = TypeVar("_F", bound=Callable[..., Any])


def normalise_email(email: str) -> str:
    return email.strip().lower()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User, name: str = "") -> tuple[ApiToken, str]:
    """Create a token row; the plain token is returned once and only its hash is stored.

    A user holds at most MAX_TOKENS_PER_USER active tokens: issuing one more revokes the oldest.
    """
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    ttl = current_app.config["TOKEN_TTL_DAYS"]
    token = ApiToken(
        user_id=user.id,
        name=name[:100],
        token_hash=hash_token(plain),
        prefix=plain[:10],
        expires_at=datetime.now(UTC) + timedelta(days=ttl) if ttl else None,
    )
    # Concurrent sign-ins of one user queue here (PostgreSQL row lock; SQLite writes hold the database lock)
    # so that together they cannot keep more than the cap.
    db.session.execute(select(User.id).where(User.id == user.id).with_for_update())
    db.session.add(token)
    db.session.flush()
    _revoke_beyond_cap(user.id, current_app.config["MAX_TOKENS_PER_USER"])
    return token, plain


def _active_tokens(user_id: int, now: datetime) -> Select[tuple[int]]:
    return select(ApiToken.id).where(
        ApiToken.user_id == user_id,
        ApiToken.revoked_at.is_(None),
        or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now),
    )


def _revoke_beyond_cap(user_id: int, cap: int) -> None:
    now = datetime.now(UTC)
    # Ids only grow (AUTOINCREMENT on SQLite, a sequence on PostgreSQL): the lowest ids are the oldest tokens.
    surplus = db.session.scalars(_active_tokens(user_id, now).order_by(ApiToken.id.desc()).offset(cap)).all()
    if surplus:
        db.session.execute(update(ApiToken).where(ApiToken.id.in_(surplus)).values(revoked_at=now))


def revoke_tokens(user_id: int, keep_id: int | None = None) -> int:
    """Revoke every active token of the user except `keep_id`; returns how many were revoked."""
    now = datetime.now(UTC)
    targets = _active_tokens(user_id, now)
    if keep_id is not None:
        targets = targets.where(ApiToken.id != keep_id)
    ids = db.session.scalars(targets).all()
    if ids:
        db.session.execute(update(ApiToken).where(ApiToken.id.in_(ids)).values(revoked_at=now))
    return len(ids)


@login_manager.user_loader
def _load_user(session_token: str) -> User | None:
    # The cookie carries the user's session secret, not their id (flask-login's alternative id): logout,
    # a password change and erasure rotate the secret, so no cookie issued before still works.
    # An explicit bearer token wins over a session cookie, and a bad one must fail loudly.
    if request.headers.get("Authorization") or not isinstance(session_token, str) or not session_token:
        return None
    if len(session_token) > 64:
        return None
    return db.session.scalar(select(User).where(User.session_token == session_token))


@login_manager.request_loader
def _load_user_from_token(req: Any) -> User | None:
    header = req.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, plain = header.partition(" ")
    if scheme.lower() != "bearer" or not plain.strip():
        g.auth_error = "Authorization header must be 'Bearer <token>'."
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(plain.strip())))
    now = datetime.now(UTC)
    if token is None:
        g.auth_error = "Unknown token."
        return None
    if token.revoked_at is not None:
        g.auth_error = "This token was revoked; sign in again."
        return None
    if token.expires_at is not None and token.expires_at <= now:
        g.auth_error = "This token has expired; sign in again."
        return None
    g.api_token = token
    if token.last_used_at is None or now - token.last_used_at > timedelta(hours=1):
        # Throttled so that reads do not turn into a write per request.
        _record_use(token, now)
    return db.session.get(User, token.user_id)


def _record_use(token: ApiToken, now: datetime) -> None:
    """Write the token's last use in a transaction of its own that takes SQLite's write lock up front. The
    request's transaction may be a plain read (GET): SQLite cannot turn a read into a write once another
    connection has committed since the read began, and fails at once instead of waiting for the lock."""
    db.session.commit()  # ends the read; nothing is pending
    with immediate_writes():
        token.last_used_at = now
        db.session.commit()


@login_manager.unauthorized_handler
def _unauthorized() -> None:
    abort(401, g.get("auth_error") or "Sign in first: send 'Authorization: Bearer <token>' or a session cookie.")


def init_app(app: Flask) -> None:
    if int(app.config["MAX_TOKENS_PER_USER"]) < 1:
        raise ValueError(f"PAPERSCOUT_MAX_TOKENS_PER_USER must be 1 or more, not {app.config['MAX_TOKENS_PER_USER']}")
    login_manager.init_app(app)


def admin_required(view: _F) -> _F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            _unauthorized()
        if not current_user.is_admin:
            abort(403, "Administrators only.")
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
