"""HTTP API under /api/v1: one blueprint per resource."""

from __future__ import annotations

from flask_smorest import Api

from server.api import admin, auth, events, health, lists, me, papers, saves, tokens

BLUEPRINTS = (
    auth.blp,
    me.blp,
    tokens.blp,
    events.blp,
    saves.blp,
    papers.blp,
    lists.blp,
    admin.blp,
    health.blp,
)


def register(api: Api) -> None:
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint, url_prefix="/api/v1" + (blueprint.url_prefix or ""))
