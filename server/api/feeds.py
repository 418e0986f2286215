"""Atom feeds of a user's lists at /feeds/<token>/<list>.atom, for feed readers (no cookie, no CSRF: the token
in the URL is the credential). An unknown token or list is a plain 404 that says nothing more."""

from __future__ import annotations

from flask import Response, request, url_for
from flask_smorest.error_handler import ErrorSchema

from server.api.atom import ATOM_MIMETYPE, render_feed
from server.api.base import Blueprint
from server.db import db
from server.errors import abort
from server.security.limits import RATE_LIMITED
from server.services import feeds

blp = Blueprint("feeds", __name__, url_prefix="/feeds", description="Atom feeds (authenticated by the URL's token)")
NOT_FOUND = "Not found."
CACHE_SECONDS = 300


def feed_url(token: str, name: str) -> str:
    return url_for("feeds.feed", token=token, name=name, _external=True)


@blp.route("/<string:token>/<string:name>.atom", methods=["GET"])
@blp.response(200, description=f"An Atom 1.0 feed ({ATOM_MIMETYPE})")
@blp.alt_response(404, schema=ErrorSchema, description="No such feed")
@blp.alt_response(429, **RATE_LIMITED)
def feed(token: str, name: str) -> Response:
    """One of my lists as an Atom feed: `for-you`, `new` (published or announced in the last 7 days) or `saved`.
    The URLs come from `GET /api/v1/me/feeds`; rotating the token ends them."""
    if name not in feeds.FEED_LISTS:
        abort(404, NOT_FOUND)
    user = feeds.user_for_feed_token(db.session, token)
    if user is None:
        abort(404, NOT_FOUND)
    document = render_feed(
        feeds.build_feed(db.session, user, name),
        self_url=request.base_url,
        home_url=request.host_url,
        paper_page=lambda key: url_for("papers.get_paper", key=key, _external=True),
    )
    response = Response(document, mimetype=ATOM_MIMETYPE)
    response.headers["Cache-Control"] = f"private, max-age={CACHE_SECONDS}"
    # Feed readers poll: an unchanged feed answers 304 to If-None-Match without its body.
    response.add_etag()
    return response.make_conditional(request)
