"""Database engine and sessions: one engine per process (created after a fork), one session per app context."""

from __future__ import annotations

import contextlib
import contextvars
import math
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app, g
from flask.cli import with_appcontext
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
WAL_CHECKPOINT_PAGES = 10000

# Set for the duration of a write request so SQLite takes its write lock up front instead of failing
# with SQLITE_BUSY when a read transaction later tries to upgrade.
_immediate: contextvars.ContextVar[bool] = contextvars.ContextVar("sqlite_immediate", default=False)


@contextlib.contextmanager
def immediate_writes() -> Iterator[None]:
    """Transactions begun inside the block take SQLite's write lock up front, as write requests do (CLI writers)."""
    token = _immediate.set(True)
    try:
        yield
    finally:
        _immediate.reset(token)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy so BEGIN IMMEDIATE can be issued (pysqlite recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Checkpoint every ~40 MB of log rather than SQLite's ~4 MB: an event batch dirties hundreds of scattered
        # pages, and with the default nearly every batch paid for a checkpoint (docs/performance.md "Event ingest").
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
        try:
            cursor.execute("SELECT power(2, 2)")
        except sqlite3.OperationalError:
            # SQLite built without its math functions: trending's decay needs power().
            dbapi_connection.create_function("power", 2, math.pow, deterministic=True)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _immediate.get() else "BEGIN")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 10})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


@contextlib.contextmanager
def plain_reads() -> Iterator[None]:
    """Transactions begun inside start as plain reads, even during a write request: for a second connection
    that only reads and must not queue behind the write lock its own request may hold (SQLite)."""
    token = _immediate.set(False)
    try:
        yield
    finally:
        _immediate.reset(token)


class _State:
    def __init__(self, url: str) -> None:
        self.url = url
        self._pid: int | None = None
        self._engine: Engine | None = None
        self._factory: sessionmaker[Session] | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None or self._pid != os.getpid():
            # A forked worker must not reuse the parent's connections.
            self._engine = make_engine(self.url)
            self._factory = sessionmaker(self._engine, expire_on_commit=False)
            self._pid = os.getpid()
        return self._engine

    def new_session(self) -> Session:
        self.engine  # noqa: B018 - ensures the factory exists for this process
        assert self._factory is not None
        return self._factory()

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


class Database:
    """Flask extension giving each app context one SQLAlchemy session (``db.session``)."""

    def init_app(self, app: Flask) -> None:
        app.extensions["paperscout_db"] = _State(app.config["DATABASE_URL"])
        app.teardown_appcontext(self._teardown)
        app.before_request(self._mark_writes)
        app.cli.add_command(init_db_command)

    @staticmethod
    def _state() -> _State:
        return current_app.extensions["paperscout_db"]

    @property
    def engine(self) -> Engine:
        return self._state().engine

    @property
    def session(self) -> Session:
        if "db_session" not in g:
            g.db_session = self._state().new_session()
        return g.db_session

    @staticmethod
    def _mark_writes() -> None:
        from flask import request

        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            g.db_immediate_token = _immediate.set(True)

    @staticmethod
    def _teardown(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()
        token = g.pop("db_immediate_token", None)
        if token is not None:
            try:
                _immediate.reset(token)
            except ValueError:  # reset from another context (streamed responses); the var dies with it
                pass


db = Database()


def alembic_config(url: str):  # -> alembic.config.Config
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade_database(app: Flask, revision: str = "head") -> None:
    """Bring the app's database schema up to ``revision`` with Alembic."""
    from alembic import command

    with app.app_context():
        engine = db.engine
        cfg = alembic_config(app.config["DATABASE_URL"])
        if engine.dialect.name != "sqlite":
            with engine.begin() as connection:
                cfg.attributes["connection"] = connection
                command.upgrade(cfg, revision)
            return
        with engine.connect() as connection:
            # A batch migration rebuilds a table by DROP + rename; with foreign keys on, dropping a parent
            # table would cascade-delete its children. The pragma only takes effect outside a transaction,
            # so it goes straight to the driver (in autocommit mode, see _configure_sqlite).
            raw = connection.connection.driver_connection
            raw.execute("PRAGMA foreign_keys=OFF")
            try:
                with connection.begin():
                    cfg.attributes["connection"] = connection
                    command.upgrade(cfg, revision)
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration left dangling foreign keys: {broken[:5]}")
            finally:
                raw.execute("PRAGMA foreign_keys=ON")


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create or upgrade the database schema (Alembic migrations)."""
    upgrade_database(current_app)
    click.echo(f"Database at revision head: {_safe_url(current_app.config['DATABASE_URL'])}")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
