"""Accounts: register, log in (token + session cookie), log out, CSRF token for cookie sessions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import g
from flask_login import current_user, login_required, login_user, logout_user

from server.api.base import Blueprint
from server.auth import issue_token
from server.db import db
from server.errors import abort
from server.schemas import AuthResultSchema, CredentialsSchema, CsrfTokenSchema, LoginSchema
from server.security import csrf_token_for, no_store
from server.security.limits import RATE_LIMITED
from server.services import users

blp = Blueprint("auth", __name__, url_prefix="/auth", description="Accounts and sign-in")


@blp.route("/register", methods=["POST"])
@no_store
@blp.arguments(CredentialsSchema)
@blp.response(201, AuthResultSchema)
@blp.alt_response(429, **RATE_LIMITED)
def register(data: dict[str, Any]) -> dict[str, Any]:
    """Create an account and return its first API token (and sign this browser in)."""
    try:
        user = users.create_user(db.session, data["email"], data["password"])
    except users.EmailTaken:
        abort(409, "An account with this email already exists.", {"email": ["already registered"]})
    _, plain = issue_token(user, data["token_name"] or "registration")
    db.session.commit()
    login_user(user)
    return {"user": user, "token": plain, "csrf_token": csrf_token_for(user)}


@blp.route("/login", methods=["POST"])
@no_store
@blp.arguments(LoginSchema)
@blp.response(200, AuthResultSchema)
@blp.alt_response(429, **RATE_LIMITED)
def login(data: dict[str, Any]) -> dict[str, Any]:
    """Check the password; answer a new bearer token and set a session cookie.

    A user keeps at most PAPERSCOUT_MAX_TOKENS_PER_USER active tokens; a new one revokes the oldest.
    """
    user = users.authenticate(db.session, data["email"], data["password"])
    if user is None:
        abort(401, "Wrong email or password.")
    _, plain = issue_token(user, data["token_name"] or "login")
    db.session.commit()
    login_user(user)
    return {"user": user, "token": plain, "csrf_token": csrf_token_for(user)}


@blp.route("/logout", methods=["POST"])
@blp.response(204)
def logout() -> None:
    """With a bearer token, revoke that token; with the session cookie, end every cookie session of mine."""
    # Reading current_user first runs the loaders, which record the token this request used.
    if current_user.is_authenticated:
        token = g.get("api_token")
        if token is not None:
            token.revoked_at = datetime.now(UTC)
        else:
            # The cookie holds the user's session secret; a new secret invalidates every copy of it.
            current_user.rotate_session_token()
        db.session.commit()
    logout_user()


@blp.route("/csrf", methods=["GET"])
@no_store
@login_required
@blp.response(200, CsrfTokenSchema)
def csrf_token() -> dict[str, str]:
    """The CSRF token that cookie-authenticated changes send as the X-CSRF-Token header.

    It stays valid until the session secret changes (logout, password change). Bearer-token requests need none.
    """
    return {"csrf_token": csrf_token_for(current_user)}
