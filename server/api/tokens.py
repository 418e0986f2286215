"""API tokens: list and revoke."""

from __future__ import annotations

from typing import Any

from flask import g
from flask_login import current_user, login_required

from server.api.base import Blueprint
from server.db import db
from server.errors import abort
from server.schemas import TokenListSchema
from server.security import no_store
from server.services import account

blp = Blueprint("tokens", __name__, url_prefix="/tokens", description="API tokens of the signed-in user")


@blp.route("", methods=["GET"])
@no_store
@login_required
@blp.response(200, TokenListSchema)
def list_tokens() -> dict[str, Any]:
    """Tokens of the current user, newest first (hashes are never shown)."""
    user_id = current_user.id
    current = g.get("api_token")
    items = []
    for token in account.tokens_of(db.session, user_id):
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
    if not account.revoke_token(db.session, current_user.id, token_id):
        abort(404, f"No token {token_id} of yours.")
