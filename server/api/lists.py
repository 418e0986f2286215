"""Ranked lists: trending over all readers, and personal recommendations."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_login import current_user, login_required

from server.api.base import Blueprint
from server.api.serialize import ranked_list_dict
from server.db import db
from server.schemas import ListArgsSchema, ListResultSchema, RecommendationArgsSchema
from server.services import recommendations

blp = Blueprint("lists", __name__, description="Trending and recommendations")


@blp.route("/trending", methods=["GET"])
@blp.arguments(ListArgsSchema, location="query")
@blp.response(200, ListResultSchema)
def trending(args: dict[str, Any]) -> dict[str, Any]:
    """Papers with the most time-decayed interest over all readers in the window (1d, 7d or 30d)."""
    user_id = current_user.id if current_user.is_authenticated else None
    return ranked_list_dict(recommendations.trending_list(db.session, args["window"], args["limit"], user_id))


@blp.route("/recommendations", methods=["GET"])
@login_required
@blp.arguments(RecommendationArgsSchema, location="query")
@blp.response(200, ListResultSchema)
def recommend(args: dict[str, Any]) -> dict[str, Any]:
    """My personalised list: each item with its score components and the reasons it is here. With ``since``
    (``1d`` to ``30d``) only papers published or announced within that period: new for you."""
    current_app.logger.debug("recommendations for user %s", current_user.id)
    if args["since"] is not None:
        ranked = recommendations.recommend_new_for(
            db.session, current_user, since=args["since"], window=args["window"], limit=args["limit"]
        )
    else:
        ranked = recommendations.recommend_for(db.session, current_user, window=args["window"], limit=args["limit"])
    return ranked_list_dict(ranked)
