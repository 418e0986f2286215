"""Saved papers: current state, paged newest first."""

from __future__ import annotations

from typing import Any

from flask_login import current_user, login_required

from server.api.base import Blueprint
from server.api.params import parse_key
from server.api.serialize import paper_dict
from server.db import db
from server.errors import abort
from server.fields import encode_cursor
from server.schemas import PageArgsSchema, SaveBodySchema, SavePageSchema, SaveSchema
from server.services import choices
from server.services.papers import PaperMeta

blp = Blueprint("saves", __name__, url_prefix="/saves", description="Saved papers")


@blp.route("", methods=["GET"])
@login_required
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, SavePageSchema)
def list_saves(args: dict[str, Any]) -> dict[str, Any]:
    """My saved papers, newest first, with cursor pagination."""
    page = choices.saves_page(db.session, current_user.id, args["cursor"], args["limit"])
    items = [{"paper": paper_dict(p, saved=True, dismissed=False), "saved_at": s.saved_at} for s, p in page.saves]
    return {"items": items, "next_cursor": encode_cursor(*page.next_after) if page.next_after else None}


@blp.route("/<paperkey:key>", methods=["PUT"])
@login_required
@blp.arguments(SaveBodySchema(partial=False), required=False)
@blp.response(200, SaveSchema)
def put_save(body: dict[str, Any] | None, key: str) -> dict[str, Any]:
    """Save a paper (idempotent). Optional metadata in `paper` creates the paper record, or fills its empty
    fields while no import has described it (within the client size limits; never its URL)."""
    canonical = parse_key(key)
    meta_payload = (body or {}).get("paper") or {}
    for name in ("canonical_key", "canonical_url"):
        if meta_payload.get(name) and meta_payload[name] != canonical:
            abort(
                422,
                "The paper in the body is not the paper in the path.",
                {"paper": {name[10:]: ["mismatch"]}},
            )
    paper, save = choices.save(db.session, current_user.id, PaperMeta.from_payload(canonical, meta_payload))
    return {"paper": paper_dict(paper, saved=True, dismissed=False), "saved_at": save.saved_at}


@blp.route("/<paperkey:key>", methods=["DELETE"])
@login_required
@blp.response(204)
def delete_save(key: str) -> None:
    """Unsave a paper (idempotent)."""
    choices.unsave(db.session, current_user.id, parse_key(key))
