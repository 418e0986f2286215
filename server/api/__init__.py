"""HTTP API under /api/v1: one blueprint per resource."""

from __future__ import annotations

from flask_smorest import Api

from server.api import admin, auth, digest, events, health, lists, me, papers, saves, tokens
from server.request_limits import PaperKeyConverter, RowIdConverter, paper_key_param_schema, row_id_param_schema
from server.schemas import EventSchema

BLUEPRINTS = (
    auth.blp,
    me.blp,
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
