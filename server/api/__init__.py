"""HTTP API under /api/v1 (one blueprint per resource), and the Atom feeds under /feeds."""

from __future__ import annotations

from flask_smorest import Api

from server.api import admin, auth, digest, events, feed_urls, feeds, health, lists, me, papers, saves, tokens
from server.request_limits import PaperKeyConverter, RowIdConverter, paper_key_param_schema, row_id_param_schema
from server.schemas import EventSchema

BLUEPRINTS = (
    auth.blp,
    me.blp,
    feed_urls.blp,
    digest.blp,
    tokens.blp,
    events.blp,
    saves.blp,
    papers.blp,
    lists.blp,
    admin.blp,
    health.blp,
)


def register(api: Api) -> None:
    api.register_converter(RowIdConverter, row_id_param_schema)
    api.register_converter(PaperKeyConverter, paper_key_param_schema)
    api.spec.components.schema("Event", schema=EventSchema)
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint, url_prefix="/api/v1" + (blueprint.url_prefix or ""))
    # Feed readers get URLs outside the API: /feeds/<token>/<list>.atom
    api.register_blueprint(feeds.blp, url_prefix=feeds.blp.url_prefix)
