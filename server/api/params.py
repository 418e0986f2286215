"""Path parameters shared by several blueprints."""

from __future__ import annotations

from server.db import db
from server.errors import abort
from server.keys import InvalidKey, canonical_key
from server.models import Paper
from server.services.catalog import paper_by_key


def parse_key(raw: str) -> str:
    try:
        return canonical_key(raw)
    except InvalidKey as exc:
        abort(422, f"Invalid paper key: {exc}", {"key": [str(exc)]})


def paper_or_404(raw: str) -> Paper:
    key = parse_key(raw)
    paper = paper_by_key(db.session, key)
    if paper is None:
        abort(404, f"No paper with key {key!r}.")
    return paper
