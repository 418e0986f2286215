"""Interaction events from the extension, in idempotent batches."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask_login import current_user, login_required

from server.api.base import Blueprint
from server.db import db
from server.schemas import EventBatchResultSchema, EventBatchSchema
from server.services.events import ingest_events

blp = Blueprint("events", __name__, url_prefix="/events", description="Interaction events")


@blp.route("", methods=["POST"])
@login_required
@blp.arguments(EventBatchSchema)
@blp.response(200, EventBatchResultSchema)
def post_events(data: dict[str, Any]) -> dict[str, Any]:
    """Record a batch of up to 500 events.

    Idempotent by (user, event id): a retried batch changes nothing and counts as duplicates. Each event is
    validated and stored on its own: an invalid event (or one the database refuses) is rejected alone, with its
    index and errors in `rejected`, and the other events of the batch are stored.
    """
    # the user itself, not the proxy: each attribute read through current_user costs a lookup, per event
    user = current_user._get_current_object()
    # End signing in's transaction (nothing is pending): on SQLite it holds the write lock, which the batch needs
    # only once it is validated; ingest_events takes it again with its first write.
    db.session.commit()
    result = ingest_events(db.session, user, data["events"])
    db.session.commit()
    return asdict(result)
