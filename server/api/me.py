"""The signed-in user: profile, export, erase, tracking pause."""

from __future__ import annotations

from typing import Any

from flask import Response, g, json
from flask_login import current_user, login_required, login_user, logout_user

from server.api.base import Blueprint
from server.api.serialize import paper_dict
from server.db import db
from server.errors import abort
from server.models import ApiToken, DigestDelivery, DigestSetting, User
from server.schemas import (
    PasswordChangeResultSchema,
    PasswordChangeSchema,
    ResetResultSchema,
    TopicsSchema,
    TrackingSchema,
    UserSchema,
)
from server.security import csrf_token_for, no_store
from server.security.limits import RATE_LIMITED
from server.services import account, topics, users

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
    account.erase_account(db.session, user_id)
    logout_user()


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
    token = g.get("api_token")
    keep = token.id if token is not None else None
    try:
        revoked = users.change_password(
            db.session, current_user.id, data["current_password"], data["new_password"], keep
        )
    except users.WrongPassword:
        abort(403, "The current password is wrong.", {"current_password": ["wrong password"]})
    user = db.session.get(User, current_user.id)
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
    counts = account.reset_personalisation(db.session, current_user.id)
    return {"interactions_removed": counts.interactions_removed, "dismissals_removed": counts.dismissals_removed}


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


@blp.route("/topics", methods=["GET"])
@login_required
@blp.response(200, TopicsSchema)
def get_topics() -> dict[str, list[str]]:
    """My topics: the arXiv categories whose papers my lists lean on while I have saved or read few papers."""
    return {"topics": topics.get_topics(db.session, current_user.id)}


@blp.route("/topics", methods=["PUT"])
@login_required
@blp.arguments(TopicsSchema)
@blp.response(200, TopicsSchema)
def put_topics(data: dict[str, list[str]]) -> dict[str, list[str]]:
    """Replace my topics (at most 10 arXiv categories; an empty list removes them all)."""
    return {"topics": topics.set_topics(db.session, current_user.id, data["topics"])}


@blp.route("/export", methods=["GET"])
@no_store
@login_required
@blp.response(200, description="Everything stored about me, as a JSON download")
def export() -> Response:
    """Everything stored about me: account, tokens and feed token (without secrets), saves, dismissals,
    interactions, topics, my digest setting and the digests sent to me."""
    data = account.account_data(db.session, current_user.id)
    body = {
        "user": UserSchema().dump(current_user),
        "tokens": [_token_json(t) for t in data.tokens],
        "saves": [{"paper": _jsonable(paper_dict(p)), "saved_at": _iso(s.saved_at)} for s, p in data.saves],
        "dismissals": [{"paper_key": key, "dismissed_at": _iso(at)} for key, at in data.dismissals],
        "interactions": [_event_json(e) for e in data.interactions],
        # without its secret, like the API tokens: only when it was issued
        "feed_token": {"created_at": _iso(data.feed_token_created_at)} if data.feed_token_created_at else None,
        "topics": data.topics,
        "digest": _digest_json(data.digest),
        "digest_deliveries": [_delivery_json(d) for d in data.digest_deliveries],
    }
    return Response(
        json.dumps(body, indent=1),
        mimetype="application/json",
        headers={"Content-Disposition": 'attachment; filename="paperscout-export.json"'},
    )


def _token_json(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "created_at": _iso(token.created_at),
        "last_used_at": _iso(token.last_used_at),
        "expires_at": _iso(token.expires_at),
        "revoked_at": _iso(token.revoked_at),
    }


def _digest_json(setting: DigestSetting | None) -> dict[str, Any] | None:
    if setting is None:
        return None
    return {"frequency": setting.frequency, "hour": setting.hour, "timezone": setting.timezone}


def _delivery_json(delivery: DigestDelivery) -> dict[str, Any]:
    return {
        "period": delivery.period,
        "status": delivery.status,
        "paper_keys": list(delivery.paper_keys),
        "attempts": delivery.attempts,
        "created_at": _iso(delivery.created_at),
        "sent_at": _iso(delivery.sent_at),
    }


def _event_json(event: account.LoggedEvent) -> dict[str, Any]:
    return {
        "id": event.event_id,
        "type": event.type,
        "paper_key": event.paper_key,
        "occurred_at": _iso(event.occurred_at),
        "received_at": _iso(event.received_at),
        "context": event.context,
    }


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def _jsonable(paper: dict[str, Any]) -> dict[str, Any]:
    return {**paper, "published_at": _iso(paper.get("published_at"))}
