"""Papers: look up, search, dismiss, similar, and whether I have seen one before."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask_login import current_user, login_required

from server.api.base import Blueprint
from server.api.params import paper_or_404, parse_key
from server.api.serialize import marked_paper_dict, paper_dict, ranked_list_dict
from server.db import db
from server.schemas import (
    DismissalSchema,
    ListArgsSchema,
    ListResultSchema,
    PaperListSchema,
    PaperSchema,
    SearchArgsSchema,
    SeenArgsSchema,
    SeenSchema,
)
from server.services import choices, recommendations
from server.services.catalog import paper_by_key, search_papers
from server.services.state import marks_for, seen_before

blp = Blueprint("papers", __name__, url_prefix="/papers", description="Papers")


def _user_id() -> int | None:
    return current_user.id if current_user.is_authenticated else None


@blp.route("", methods=["GET"])
@blp.arguments(SearchArgsSchema, location="query")
@blp.response(200, PaperListSchema)
def search(args: dict[str, Any]) -> dict[str, Any]:
    """Search titles and abstracts (every word must appear); without `q`, the newest papers."""
    papers = search_papers(db.session, args["q"], args["limit"])
    marks = marks_for(db.session, _user_id(), [p.id for p in papers])
    return {"items": [marked_paper_dict(p, marks) for p in papers]}


@blp.route("/<paperkey:key>", methods=["GET"])
@blp.response(200, PaperSchema)
def get_paper(key: str) -> dict[str, Any]:
    """One paper by key (any accepted form: `arxiv:2401.01234v2`, a paper URL, a DOI)."""
    paper = paper_or_404(key)
    return marked_paper_dict(paper, marks_for(db.session, _user_id(), [paper.id]), references=True)


@blp.route("/<paperkey:key>/similar", methods=["GET"])
@blp.arguments(ListArgsSchema, location="query")
@blp.response(200, ListResultSchema)
def similar(args: dict[str, Any], key: str) -> dict[str, Any]:
    """Papers similar to this one (text similarity and co-readership), with reasons."""
    paper = paper_or_404(key)
    return ranked_list_dict(recommendations.similar_papers(db.session, paper, _user_id(), limit=args["limit"]))


@blp.route("/<paperkey:key>/dismiss", methods=["POST"])
@login_required
@blp.response(200, DismissalSchema)
def dismiss(key: str) -> dict[str, Any]:
    """Dismiss a paper: it leaves my lists, and papers like it rank lower."""
    paper = paper_or_404(key)
    dismissal = choices.dismiss(db.session, current_user.id, paper)
    return {"paper": paper_dict(paper, dismissed=True), "dismissed_at": dismissal.dismissed_at}


@blp.route("/<paperkey:key>/dismiss", methods=["DELETE"])
@login_required
@blp.response(204)
def undismiss(key: str) -> None:
    """Undo a dismissal."""
    choices.undismiss(db.session, current_user.id, paper_or_404(key))


@blp.route("/<paperkey:key>/seen", methods=["GET"])
@login_required
@blp.arguments(SeenArgsSchema, location="query")
@blp.response(200, SeenSchema)
def seen(args: dict[str, Any], key: str) -> dict[str, Any]:
    """Whether I opened or saved this paper before, on any site: my latest open, how often, and when I saved
    it. A paper the catalog does not hold was never seen (no 404: the on-page badge asks for every page)."""
    canonical = parse_key(key)
    paper = paper_by_key(db.session, canonical)
    before = args["before"] or datetime.now(UTC)
    state = seen_before(db.session, current_user.id, paper.id if paper else None, before)
    return {
        "key": canonical,
        "last_opened_at": state.last_opened_at,
        "times_opened": state.times_opened,
        "saved_at": state.saved_at,
    }
