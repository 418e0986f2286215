"""The signed-in user's feed URLs, and rotating the token they carry."""

from __future__ import annotations

from typing import Any

from flask_login import current_user, login_required

from server.api.base import Blueprint
from server.api.feeds import feed_url
from server.db import db
from server.schemas import FeedUrlsSchema
from server.security import no_store
from server.services import feeds

blp = Blueprint("feed_urls", __name__, url_prefix="/me/feeds", description="My Atom feed URLs")


def _urls(token: str) -> dict[str, Any]:
    return {
        "feeds": [
            {"list": name, "title": title, "url": feed_url(token, name)} for name, title in feeds.FEED_LISTS.items()
        ]
    }


@blp.route("", methods=["GET"])
@no_store
@login_required
@blp.response(200, FeedUrlsSchema)
def list_feeds() -> dict[str, Any]:
    """My feed URLs (absolute), for a feed reader: anyone with one can read that list, so keep them private."""
    return _urls(feeds.feed_token(db.session, current_user.id))


@blp.route("/rotate", methods=["POST"])
@no_store
@login_required
@blp.response(200, FeedUrlsSchema)
def rotate() -> dict[str, Any]:
    """Replace my feed token: the old URLs answer 404 from now on; the new ones are returned."""
    return _urls(feeds.rotate_feed_token(db.session, current_user.id))
