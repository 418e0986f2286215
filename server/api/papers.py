"""Papers: look up, search, dismiss, similar."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask_login import current_user, login_required
from sqlalchemy import func, or_, select

from server.api.base import Blueprint
from server.api.params import paper_or_404
from server.api.serialize import paper_dict, paper_dicts_for_user
from server.db import db
from server.models import Dismissal, Paper
from server.schemas import (
    DismissalSchema,
    ListArgsSchema,
    ListResultSchema,
    PaperListSchema,
    PaperSchema,
    SearchArgsSchema,
)
from server.services import recommendations
from server.services.state import apply_action, log_interaction

blp = Blueprint("papers", __name__, url_prefix="/papers", description="Papers")


def _user_id() -> int | None:
    return current_user.id if current_user.is_authenticated else None


@blp.route("", methods=["GET"])
@blp.arguments(SearchArgsSchema, location="query")
@blp.response(200, PaperListSchema)
def search(args: dict[str, Any]) -> dict[str, Any]:
    """Search titles and abstracts (every word must appear); without `q`, the newest papers."""
    query = select(Paper)
    terms = [t for t in args["q"].lower().split() if t][:8]
    for term in terms:
        pattern = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(
                func.lower(Paper.title).like(pattern, escape="\\"),
                func.lower(Paper.abstract).like(pattern, escape="\\"),
            )
        )
    query = query.order_by(Paper.created_at.desc(), Paper.id.desc()).limit(args["limit"])
    papers = list(db.session.scalars(query))
    if terms:
        # Title matches first: a cheap relevance order over at most `limit` rows.
        papers.sort(key=lambda p: -sum(t in p.title.lower() for t in terms))
    return {"items": paper_dicts_for_user(db.session, _user_id(), papers)}


@blp.route("/<paperkey:key>", methods=["GET"])
@blp.response(200, PaperSchema)
def get_paper(key: str) -> dict[str, Any]:
    """One paper by key (any accepted form: `arxiv:2401.01234v2`, a paper URL, a DOI)."""
    paper = paper_or_404(key)
    return paper_dicts_for_user(db.session, _user_id(), [paper], references=True)[0]


@blp.route("/<paperkey:key>/similar", methods=["GET"])
@blp.arguments(ListArgsSchema, location="query")
@blp.response(200, ListResultSchema)
def similar(args: dict[str, Any], key: str) -> dict[str, Any]:
    """Papers similar to this one (text similarity and co-readership), with reasons."""
    paper = paper_or_404(key)
    return recommendations.similar_papers(db.session, paper, _user_id(), limit=args["limit"])


@blp.route("/<paperkey:key>/dismiss", methods=["POST"])
@login_required
@blp.response(200, DismissalSchema)
def dismiss(key: str) -> dict[str, Any]:
    """Dismiss a paper: it leaves my lists, and papers like it rank lower."""
    paper = paper_or_404(key)
    session = db.session
    if session.get(Dismissal, (current_user.id, paper.id)) is None:
        apply_action(session, current_user.id, paper.id, "dismiss", datetime.now(UTC))
        log_interaction(session, current_user.id, paper.id, "dismiss")
        session.commit()
    row = session.get(Dismissal, (current_user.id, paper.id))
    return {"paper": paper_dict(paper, dismissed=True), "dismissed_at": row.dismissed_at}


@blp.route("/<paperkey:key>/dismiss", methods=["DELETE"])
@login_required
@blp.response(204)
def undismiss(key: str) -> None:
    """Undo a dismissal."""
    paper = paper_or_404(key)
    apply_action(db.session, current_user.id, paper.id, "undismiss", datetime.now(UTC))
    db.session.commit()
