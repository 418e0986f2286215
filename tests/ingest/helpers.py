"""Reading back what an ingest stored."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from server.db import db
from server.models import IngestRun, Paper


def papers(app) -> dict[str, Paper]:
    with app.app_context():
        rows = db.session.scalars(select(Paper)).all()
        db.session.expunge_all()
        return {row.key: row for row in rows}


def runs(app) -> list[IngestRun]:
    with app.app_context():
        rows = db.session.scalars(select(IngestRun).order_by(IngestRun.id)).all()
        db.session.expunge_all()
        return list(rows)


def count(app, model: Any) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model)) or 0


def invoke(runner, *args: str):
    return runner.invoke(args=list(args), catch_exceptions=False)
