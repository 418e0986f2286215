"""Saved papers: current state, paged newest first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask_login import current_user, login_required
from sqlalchemy import and_, or_, select

from server.api.base import Blueprint
from server.api.params import parse_key
from server.api.serialize import paper_dict
from server.db import db
from server.errors import abort
from server.fields import encode_cursor
from server.models import PROVENANCE_CLIENT, Paper, Save
from server.schemas import PageArgsSchema, SaveBodySchema, SavePageSchema, SaveSchema
from server.services.papers import PaperMeta, upsert_papers
from server.services.state import apply_action, log_interaction

blp = Blueprint("saves", __name__, url_prefix="/saves", description="Saved papers")


@blp.route("", methods=["GET"])
@login_required
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, SavePageSchema)
def list_saves(args: dict[str, Any]) -> dict[str, Any]:
    """My saved papers, newest first, with cursor pagination."""
    query = (
        select(Save, Paper)
        .join(Paper, Paper.id == Save.paper_id)
        .where(Save.user_id == current_user.id)
        .order_by(Save.saved_at.desc(), Save.paper_id.desc())
        .limit(args["limit"] + 1)
    )
    if args["cursor"]:
        at, paper_id = args["cursor"]
        query = query.where(or_(Save.saved_at < at, and_(Save.saved_at == at, Save.paper_id < paper_id)))
    rows = db.session.execute(query).all()
    page = rows[: args["limit"]]
    items = [{"paper": paper_dict(p, saved=True, dismissed=False), "saved_at": s.saved_at} for s, p in page]
    next_cursor = encode_cursor(page[-1][0].saved_at, page[-1][0].paper_id) if len(rows) > len(page) else None
    return {"items": items, "next_cursor": next_cursor}


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
    session = db.session
    metas = {canonical: PaperMeta.from_payload(canonical, meta_payload)}
    paper_id = upsert_papers(session, metas, PROVENANCE_CLIENT)[canonical]
    existing = session.get(Save, (current_user.id, paper_id))
    if existing is None:
        apply_action(session, current_user.id, paper_id, "save", datetime.now(UTC))
        log_interaction(session, current_user.id, paper_id, "save")
    session.commit()
    save = session.get(Save, (current_user.id, paper_id))
    return {
        "paper": paper_dict(session.get(Paper, paper_id), saved=True, dismissed=False),
        "saved_at": save.saved_at,
    }


@blp.route("/<paperkey:key>", methods=["DELETE"])
@login_required
@blp.response(204)
def delete_save(key: str) -> None:
    """Unsave a paper (idempotent)."""
    canonical = parse_key(key)
    session = db.session
    paper_id = session.scalar(select(Paper.id).where(Paper.key == canonical))
    if paper_id is None:
        return
    if session.get(Save, (current_user.id, paper_id)) is not None:
        apply_action(session, current_user.id, paper_id, "unsave", datetime.now(UTC))
        log_interaction(session, current_user.id, paper_id, "unsave")
        session.commit()
