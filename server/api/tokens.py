"""API tokens: list and revoke."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import g
from flask_login import current_user, login_required
from sqlalchemy import select

from server.api.base import Blueprint
from server.db import db
from server.errors import abort
from server.models import ApiToken
from server.schemas import TokenListSchema
from server.security import no_store

blp = Blueprint("tokens", __name__, url_prefix="/tokens", description="API tokens of the signed-in user")


@blp.route("", methods=["GET"])
@no_store
@login_required
@blp.response(200, TokenListSchema)
def list_tokens() -> dict[str, Any]:
    """Tokens of the current user, newest first (hashes are never shown)."""
    user_id = current_user.id
    current = g.get("api_token")
    rows = db.session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id.desc())).all()
    items = []
    for token in rows:
        items.append(
            {
                "id": token.id,
                "name": token.name,
                "prefix": token.prefix,
                "created_at": token.created_at,
                "last_used_at": token.last_used_at,
                "expires_at": token.expires_at,
                "revoked_at": token.revoked_at,
                "current": current is not None and current.id == token.id,
            }
        )
    return {"items": items}


@blp.route("/<int:token_id>", methods=["DELETE"])
@login_required
@blp.response(204)
def revoke_token(token_id: int) -> None:
    """Revoke one of my tokens; requests with it get 401 from then on."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404, f"No token {token_id} of yours.")
    if token.revoked_at is None:
        token.revoked_at = datetime.now(UTC)
        db.session.commit()
