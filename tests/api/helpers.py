"""Small builders for API tests."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from server.db import db


def event(kind: str = "open", key: str = "arxiv:2401.01234", *, minutes_ago: float = 1, **paper) -> dict:
    occurred = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return {
        "id": str(uuid.uuid4()),
        "type": kind,
        "paper": {"key": key, **paper},
        "occurred_at": occurred.isoformat().replace("+00:00", "Z"),
    }


def assert_error_shape(response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    body = response.get_json()
    assert set(body) == {"code", "status", "message", "errors"}, body
    assert body["code"] == status
    assert isinstance(body["message"], str) and body["message"]
    return body


@contextmanager
def database_refuses(app, table: str = "papers", column: str = "title", marker: str = "poison"):
    """Make the real database refuse rows of ``table`` whose ``column`` (as text) holds ``marker`` (a trigger on
    SQLite, a CHECK constraint on PostgreSQL): data that passes validation and still fails to store."""
    with app.app_context():
        engine = db.engine
    name = f"refuse_{table}_{marker}"
    if engine.dialect.name == "sqlite":
        create = [
            f"CREATE TRIGGER {name}_{op} BEFORE {op} ON {table} WHEN instr(NEW.{column}, '{marker}') > 0 "
            "BEGIN SELECT RAISE(ABORT, 'refused'); END"
            for op in ("INSERT", "UPDATE")
        ]
        drop = [f"DROP TRIGGER IF EXISTS {name}_{op}" for op in ("INSERT", "UPDATE")]
    else:
        check = f"strpos(CAST({column} AS text), '{marker}') = 0"
        create = [f"ALTER TABLE {table} ADD CONSTRAINT {name} CHECK ({check}) NOT VALID"]
        drop = [f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {name}"]
    with engine.begin() as conn:
        for statement in create:
            conn.exec_driver_sql(statement)
    try:
        yield
    finally:
        with engine.begin() as conn:
            for statement in drop:
                conn.exec_driver_sql(statement)
