"""My digest email setting (docs/digest.md)."""

from __future__ import annotations

from typing import Any

from flask_login import current_user, login_required

from server.api.base import Blueprint
from server.db import db
from server.schemas import DigestSettingsSchema
from server.services import digest

blp = Blueprint("digest_settings", __name__, url_prefix="/me/digest", description="My digest email")


@blp.route("", methods=["GET"])
@login_required
@blp.response(200, DigestSettingsSchema)
def get_digest() -> digest.Settings:
    """My digest setting: off until I switch it on."""
    return digest.get_settings(db.session, current_user.id)


@blp.route("", methods=["PUT"])
@login_required
@blp.arguments(DigestSettingsSchema)
@blp.response(200, DigestSettingsSchema)
def put_digest(data: dict[str, Any]) -> digest.Settings:
    """Switch my digest on (daily or weekly, from `hour` in `timezone`) or off. A user is sent a digest once the
    hour has passed in their zone, once per local day or ISO week, when papers new for them arrived."""
    return digest.put_settings(db.session, current_user.id, data["frequency"], data.get("hour"), data.get("timezone"))
