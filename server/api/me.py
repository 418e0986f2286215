"""The signed-in user: profile, export, erase, tracking pause."""

from __future__ import annotations

from typing import Any

from flask import Response, g, json
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import delete, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from server.api.base import Blueprint
from server.api.serialize import paper_dict
from server.auth import revoke_tokens
from server.db import db
from server.errors import abort
from server.models import ApiToken, Dismissal, Interaction, Paper, Save, User
from server.schemas import (
    PasswordChangeResultSchema,
    PasswordChangeSchema,
    ResetResultSchema,
    TrackingSchema,
    UserSchema,
)
from server.security import csrf_token_for, no_store
from server.security.limits import RATE_LIMITED
from server.services import recommendations
from server.services.erasure import record_erasure

blp = Blueprint("me", __name__, url_prefix="/me", description="The signed-in user")


@blp.route("", methods=["GET"])
@login_required
@blp.response(200, UserSchema)
def me() -> User:
    """Who am I."""
    return current_user


@blp.route("", methods=["DELETE"])
@login_required
@blp.response(204)
def delete_me() -> None:
    """Erase my account and every row about me (interactions, saves, dismissals, tokens); the recommender
    stops using my saves at once, and no stored model version keeps them."""
    user_id = current_user.id
    session = db.session
    for model in (Interaction, Save, Dismissal, ApiToken):
        session.execute(delete(model).where(model.user_id == user_id))
    session.execute(delete(User).where(User.id == user_id))
    record_erasure(session, user_id)  # in the same transaction: no deletion without its erasure, nor back
    session.commit()
    logout_user()
    recommendations.apply_erasures()


@blp.route("/password", methods=["PUT"])
@no_store
@login_required
@blp.arguments(PasswordChangeSchema)
@blp.response(200, PasswordChangeResultSchema)
@blp.alt_response(429, **RATE_LIMITED)
def change_password(data: dict[str, Any]) -> dict[str, Any]:
    """Change my password. Ends every other session: cookie sessions everywhere (this browser is signed in
    again) and every token except the one this request used.

    A wrong current password answers 403 and counts against the account's failed sign-in limit.
    """
    user = db.session.get(User, current_user.id)
    if not check_password_hash(user.password_hash, data["current_password"]):
        abort(403, "The current password is wrong.", {"current_password": ["wrong password"]})
    user.password_hash = generate_password_hash(data["new_password"])
    user.rotate_session_token()
    token = g.get("api_token")
    revoked = revoke_tokens(user.id, keep_id=token.id if token is not None else None)
    db.session.commit()
    if token is None:
        login_user(user)  # the cookie of this browser, with the new session secret
    return {"user": user, "tokens_revoked": revoked, "csrf_token": csrf_token_for(user)}


@blp.route("/reset", methods=["POST"])
@login_required
@blp.response(200, ResetResultSchema)
def reset_personalisation() -> dict[str, int]:
    """Forget what personalises my lists: opens, clicks, dismissals and past save/unsave history.

    My saved papers stay saved, and each keeps one save event so the recommender still knows my library.
    """
    session = db.session
    uid = current_user.id
    saved = select(Save.paper_id).where(Save.user_id == uid)
    removed = session.execute(
        delete(Interaction).where(
            Interaction.user_id == uid,
            ~((Interaction.type == "save") & Interaction.paper_id.in_(saved)),
        )
    ).rowcount
    # Keep only the newest save event per saved paper.
    newest = (
        select(func.max(Interaction.id))
        .where(Interaction.user_id == uid, Interaction.type == "save")
        .group_by(Interaction.paper_id)
    )
    removed += session.execute(
        delete(Interaction).where(Interaction.user_id == uid, Interaction.id.not_in(newest))
    ).rowcount
    dismissals = session.execute(delete(Dismissal).where(Dismissal.user_id == uid)).rowcount
    session.commit()
    return {"interactions_removed": removed, "dismissals_removed": dismissals}


@blp.route("/tracking", methods=["PUT"])
@login_required
@blp.arguments(TrackingSchema)
@blp.response(200, UserSchema)
def set_tracking(data: dict[str, Any]) -> User:
    """Pause or resume tracking: while paused, open/click events are dropped; saves still work."""
    user = db.session.get(User, current_user.id)
    user.tracking_paused = data["paused"]
    db.session.commit()
    return user


@blp.route("/export", methods=["GET"])
@no_store
@login_required
@blp.response(200, description="Everything stored about me, as a JSON download")
def export() -> Response:
    """Everything stored about me: account, tokens (without secrets), saves, dismissals, interactions."""
    session = db.session
    uid = current_user.id
    user = UserSchema().dump(current_user)
    tokens = [
        {
            "id": t.id,
            "name": t.name,
            "prefix": t.prefix,
            "created_at": _iso(t.created_at),
            "last_used_at": _iso(t.last_used_at),
            "expires_at": _iso(t.expires_at),
            "revoked_at": _iso(t.revoked_at),
        }
        for t in session.scalars(select(ApiToken).where(ApiToken.user_id == uid))
    ]
    saves = [
        {"paper": _jsonable(paper_dict(p)), "saved_at": _iso(s.saved_at)}
        for s, p in session.execute(
            select(Save, Paper)
            .join(Paper, Paper.id == Save.paper_id)
            .where(Save.user_id == uid)
            .order_by(Save.saved_at.desc())
        )
    ]
    dismissals = [
        {"paper_key": key, "dismissed_at": _iso(at)}
        for key, at in session.execute(
            select(Paper.key, Dismissal.dismissed_at)
            .join(Paper, Paper.id == Dismissal.paper_id)
            .where(Dismissal.user_id == uid)
        )
    ]
    interactions = [
        {
            "id": cid,
            "type": kind,
            "paper_key": key,
            "occurred_at": _iso(occ),
            "received_at": _iso(rec),
            "context": ctx,
        }
        for cid, kind, key, occ, rec, ctx in session.execute(
            select(
                Interaction.client_event_id,
                Interaction.type,
                Paper.key,
                Interaction.occurred_at,
                Interaction.received_at,
                Interaction.context,
            )
            .join(Paper, Paper.id == Interaction.paper_id)
            .where(Interaction.user_id == uid)
            .order_by(Interaction.occurred_at, Interaction.id)
        )
    ]
    body = {
        "user": user,
        "tokens": tokens,
        "saves": saves,
        "dismissals": dismissals,
        "interactions": interactions,
    }
    return Response(
        json.dumps(body, indent=1),
        mimetype="application/json",
        headers={"Content-Disposition": 'attachment; filename="paperscout-export.json"'},
    )


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def _jsonable(paper: dict[str, Any]) -> dict[str, Any]:
    return {**paper, "published_at": _iso(paper.get("published_at"))}
