"""Accounts: create one, check a password, change it. Shared by the API and the web app."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from server.auth import normalise_email, revoke_tokens
from server.models import User

# Verifying against a real hash keeps the response time the same for unknown emails.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class EmailTaken(ValueError):
    """An account with this email exists already."""


class WrongPassword(ValueError):
    """The current password given for a change is not the account's."""


def create_user(session: Session, email: str, password: str) -> User:
    """Add the account to the session and flush it (the caller commits, with whatever it adds). Raises
    EmailTaken, with the session rolled back, when the email is registered already."""
    user = User(email=normalise_email(email), password_hash=generate_password_hash(password))
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise EmailTaken(email) from None
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The account with this email and password, or None (in about the same time whether the email exists)."""
    user = session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


def change_password(session: Session, user_id: int, current: str, new: str, keep_token_id: int | None) -> int:
    """Set a new password and end every other session: the session secret is rotated (every cookie) and every
    token but ``keep_token_id`` is revoked; commits and returns how many tokens were revoked. Raises
    WrongPassword, changing nothing, when ``current`` is not the password."""
    user = session.get(User, user_id)
    if user is None or not check_password_hash(user.password_hash, current):
        raise WrongPassword()
    user.password_hash = generate_password_hash(new)
    user.rotate_session_token()
    revoked = revoke_tokens(user.id, keep_id=keep_token_id)
    session.commit()
    return revoked
