"""Accounts: register, log in (token + session cookie), log out."""

from __future__ import annotations

from typing import Any

from flask import g
from flask_login import current_user, login_user, logout_user
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from server.api.base import Blueprint
from server.auth import issue_token
from server.db import db
from server.errors import abort
from server.models import User
from server.schemas import AuthResultSchema, CredentialsSchema, LoginSchema

blp = Blueprint("auth", __name__, url_prefix="/auth", description="Accounts and sign-in")

# Verifying against a real hash keeps the response time the same for unknown emails.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def normalise_email(email: str) -> str:
    return email.strip().lower()


@blp.route("/register", methods=["POST"])
@blp.arguments(CredentialsSchema)
@blp.response(201, AuthResultSchema)
def register(data: dict[str, Any]) -> dict[str, Any]:
    """Create an account and return its first API token."""
    user = User(email=normalise_email(data["email"]), password_hash=generate_password_hash(data["password"]))
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        abort(409, "An account with this email already exists.", {"email": ["already registered"]})
    _, plain = issue_token(user, data["token_name"] or "registration")
    db.session.commit()
    login_user(user)
    return {"user": user, "token": plain}


@blp.route("/login", methods=["POST"])
@blp.arguments(LoginSchema)
@blp.response(200, AuthResultSchema)
def login(data: dict[str, Any]) -> dict[str, Any]:
    """Check the password; answer a new bearer token and set a session cookie."""
    email = normalise_email(data["email"])
    user = db.session.scalar(select(User).where(func.lower(User.email) == email))
    if user is None:
        check_password_hash(_DUMMY_HASH, data["password"])
        abort(401, "Wrong email or password.")
    if not check_password_hash(user.password_hash, data["password"]):
        abort(401, "Wrong email or password.")
    _, plain = issue_token(user, data["token_name"] or "login")
    db.session.commit()
    login_user(user)
    return {"user": user, "token": plain}


@blp.route("/logout", methods=["POST"])
@blp.response(204)
def logout() -> None:
    """End the session; with a bearer token, also revoke that token."""
    # Reading current_user first runs the loaders, which record the token this request used.
    authenticated = current_user.is_authenticated
    token = g.get("api_token")
    if authenticated and token is not None:
        from datetime import UTC, datetime

        token.revoked_at = datetime.now(UTC)
        db.session.commit()
    logout_user()
