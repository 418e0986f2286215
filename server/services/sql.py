"""Dialect-aware INSERT ... ON CONFLICT (SQLite and PostgreSQL both support it) and writes that isolate
the rows a database refuses."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import exc, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")


def dialect_of(session: Session) -> str:
    return session.get_bind().dialect.name


def insert_for(session: Session, table: Any) -> Any:
    return insert_on(dialect_of(session), table)


def insert_on(dialect: str, table: Any) -> Any:
    """An INSERT of ``dialect`` (its ON CONFLICT clauses): for statements built once per dialect and kept, since
    building an upsert (its ``excluded`` columns) costs more per batch than SQLAlchemy's compiled cache saves."""
    if dialect == "sqlite":
        return sqlite.insert(table)
    if dialect == "postgresql":
        return postgresql.insert(table)
    raise RuntimeError(f"unsupported database dialect: {dialect}")


def lock_per_key(session: Session, namespace: int, key: int) -> None:
    """Make writers with the same (namespace, key) take turns until their transactions end: a PostgreSQL
    transaction-level advisory lock. SQLite needs none: a write transaction there holds the database's only
    write lock from its start (BEGIN IMMEDIATE)."""
    if dialect_of(session) == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(CAST(:namespace AS integer), CAST(:key AS integer))"),
            {"namespace": namespace, "key": key},
        )


def chunks(items: list, size: int = 500):
    for start in range(0, len(items), size):
        yield items[start : start + size]


# Errors that mean "the database (or its driver) will not store this data": a constraint, a value out of
# range, text it cannot encode. Anything else (connection lost, lock timeout, deadlock) is the database's
# problem, not the data's, and must reach the caller as a server error so that the client retries.
_DATA_ERRORS = (exc.IntegrityError, exc.DataError)
_BINDING_ERRORS = (UnicodeError, OverflowError)


def is_data_error(error: BaseException) -> bool:
    if isinstance(error, _DATA_ERRORS + _BINDING_ERRORS):
        return True
    return isinstance(error, exc.StatementError) and isinstance(error.orig, (*_BINDING_ERRORS, ValueError))


def write_isolating_refusals(
    session: Session, items: Sequence[T], write: Callable[[Sequence[T]], R]
) -> tuple[list[R], list[tuple[T, BaseException]]]:
    """Write all items in one savepoint; when the database refuses the data, write them again one savepoint
    each, so that only the items it refuses are left out. Returns the results of the writes that were kept
    and the refused items with their errors. Other errors propagate (the caller's transaction is unusable)."""
    try:
        with session.begin_nested():
            return [write(items)], []
    except Exception as error:  # noqa: BLE001 - sorted by is_data_error; the rest is re-raised
        if not is_data_error(error):
            raise
        log.warning("a write of %d items was refused (%s); retrying them one by one", len(items), type(error).__name__)
    results: list[R] = []
    refused: list[tuple[T, BaseException]] = []
    for item in items:
        try:
            with session.begin_nested():
                results.append(write([item]))
        except Exception as error:  # noqa: BLE001 - as above
            if not is_data_error(error):
                raise
            refused.append((item, error))
    return results, refused
