"""The one ingest lock: a scheduler's jobs and manual `ingest` commands never run at the same time.

PostgreSQL: a session-level advisory lock held on a connection of its own (the server drops it if the process
dies). SQLite (one machine by nature): an exclusive flock on a file beside the database (the kernel drops it if
the process dies). Neither can be left behind by a crash, so there is nothing to expire or clean up.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

from server.config import var_dir

# pg_try_advisory_lock takes a bigint: these eight bytes spell "PSINGEST".
ADVISORY_KEY = int.from_bytes(b"PSINGEST", "big")


class LockHeld(RuntimeError):
    """Another scheduler or manual run holds the ingest lock."""


def lock_file_path(database_url: str) -> Path:
    database = make_url(database_url).database
    if database and database != ":memory:":
        return Path(f"{database}.ingest.lock")
    return var_dir() / "ingest.lock"


class IngestLock:
    def __init__(self, engine: Engine, database_url: str) -> None:
        self.engine = engine
        self.database_url = database_url
        self._connection: Connection | None = None
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock if it is free; never waits."""
        if self.engine.dialect.name == "postgresql":
            connection = self.engine.connect()
            taken = bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}).scalar())
            connection.commit()  # the lock belongs to the session, not to this transaction
            if not taken:
                connection.close()
                return False
            self._connection = connection
            return True
        path = lock_file_path(self.database_url)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            try:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY})
                connection.commit()
                connection.close()
            except Exception:  # noqa: BLE001 - a broken connection: discarding it ends the session and its lock
                connection.invalidate()
        if self._fd is not None:
            fd, self._fd = self._fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


@contextmanager
def ingest_lock(app: Any) -> Iterator[IngestLock]:
    """Hold the ingest lock for the block, or raise LockHeld at once."""
    lock = IngestLock(app.extensions["paperscout_db"].engine, app.config["DATABASE_URL"])
    if not lock.acquire():
        raise LockHeld("another ingest run holds the lock (a scheduler job or a manual `ingest` command)")
    try:
        yield lock
    finally:
        lock.release()
