"""The reading pages: For you, New for you, Trending, Saved, search, a paper with similar papers; and the
choices made on a paper (save, unsave, dismiss, undismiss) as plain forms that the page's script enhances."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import abort, render_template, request, url_for
from flask_login import current_user
from marshmallow import ValidationError

from recommender import WINDOWS
from server.db import db
from server.fields import encode_cursor
from server.keys import InvalidKey, canonical_key
from server.models import Paper
from server.schemas import PageArgsSchema, SearchArgsSchema
from server.services import choices, recommendations
from server.services.catalog import paper_by_key, search_papers
from server.services.papers import PaperMeta
from server.services.recommendations import RankedList, RankedPaper
from server.services.state import Marks, marks_for
from server.services.trending import WINDOW_LABELS
from server.web.blueprint import bp, done, signed_in

PAGE_SIZE = 20
NEW_DAYS = 7  # New for you: papers published or announced this week
SIMILAR_SHOWN = 10


def _user_id() -> int | None:
    return current_user.id if current_user.is_authenticated else None


def _window() -> str:
    window = request.args.get("window", "7d")
    return window if window in WINDOWS else "7d"


def _render_list(template: str, ranked: RankedList, **context: Any) -> str:
    return render_template(template, items=ranked.items, marks=ranked.marks, **context)


@bp.get("/")
def home() -> Any:
    if not current_user.is_authenticated:
        ranked = recommendations.trending_list(db.session, "7d", 10, None)
        return _render_list("landing.html", ranked)
    ranked = recommendations.recommend_for(db.session, current_user, window=_window(), limit=PAGE_SIZE)
    return _render_list("list.html", ranked, tab="for_you", heading="For you", windows=WINDOW_LABELS)


@bp.get("/new")
@signed_in
def new_for_you() -> str:
    ranked = recommendations.recommend_new_for(
        db.session, current_user, since=timedelta(days=NEW_DAYS), window="7d", limit=PAGE_SIZE
    )
    return _render_list("list.html", ranked, tab="new", heading="New for you")


@bp.get("/trending")
def trending() -> str:
    window = _window()
    ranked = recommendations.trending_list(db.session, window, PAGE_SIZE, _user_id())
    return _render_list(
        "list.html", ranked, tab="trending", heading=f"Trending {WINDOW_LABELS[window]}", windows=WINDOW_LABELS
    )


@bp.get("/saved")
@signed_in
def saved() -> str:
    try:
        args = PageArgsSchema().load({"cursor": request.args.get("cursor") or None, "limit": PAGE_SIZE})
    except ValidationError:
        abort(400, "This page link is broken; start again from the first page of your saved papers.")
    page = choices.saves_page(db.session, current_user.id, args["cursor"], PAGE_SIZE)
    items = [RankedPaper(paper, 0.0, {}, [f"Saved on {save.saved_at:%-d %b %Y}"]) for save, paper in page.saves]
    marks = Marks(frozenset(p.id for _, p in page.saves), frozenset())
    more = url_for("web.saved", cursor=encode_cursor(*page.next_after)) if page.next_after else None
    return render_template("list.html", items=items, marks=marks, tab="saved", heading="Saved", more=more)


@bp.get("/search")
def search() -> str:
    try:
        args = SearchArgsSchema().load({"q": request.args.get("q", ""), "limit": PAGE_SIZE})
    except ValidationError:
        abort(400, "Search for at most 200 characters of plain text.")
    query = args["q"].strip()
    papers = search_papers(db.session, query, PAGE_SIZE) if query else []
    items = [RankedPaper(p, 0.0, {}, []) for p in papers]
    marks = marks_for(db.session, _user_id(), [p.id for p in papers])
    return render_template("search.html", items=items, marks=marks, query=query)


def _paper(raw: str) -> Paper:
    try:
        key = canonical_key(raw)
    except InvalidKey as exc:
        abort(404, f"There is no paper here: {exc}.")
    paper = paper_by_key(db.session, key)
    if paper is None:
        abort(404, f"No paper {key} in the catalog yet.")
    return paper


@bp.get("/papers/<paperkey:key>")
def paper(key: str) -> str:
    found = _paper(key)
    similar = recommendations.similar_papers(db.session, found, _user_id(), limit=SIMILAR_SHOWN)
    marks = marks_for(db.session, _user_id(), [found.id, *(i.paper.id for i in similar.items)])
    return render_template("paper.html", paper=found, items=similar.items, marks=marks)


@bp.post("/papers/<paperkey:key>/<any(save, unsave, dismiss, undismiss):choice>")
@signed_in
def choose(key: str, choice: str) -> Any:
    """Save, unsave, dismiss or undismiss, as the buttons of every list do."""
    found = _paper(key)
    if choice == "save":
        choices.save(db.session, current_user.id, PaperMeta(key=found.key))
    elif choice == "unsave":
        choices.unsave(db.session, current_user.id, found.key)
    elif choice == "dismiss":
        choices.dismiss(db.session, current_user.id, found)
    else:
        choices.undismiss(db.session, current_user.id, found)
    marks = marks_for(db.session, current_user.id, [found.id])
    state = {"key": found.key, "saved": found.id in marks.saved, "dismissed": found.id in marks.dismissed}
    return done(state, url_for("web.paper", key=found.key))
