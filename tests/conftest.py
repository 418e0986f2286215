"""Shared fixtures: the real Flask app on a real SQLite file, and on a real PostgreSQL server when reachable.

PostgreSQL: PAPERSCOUT_TEST_PG_URL (default: postgres user, database `test` on 127.0.0.1:5432). The tests
create a database of their own there and drop it afterwards. With PAPERSCOUT_REQUIRE_POSTGRES=1 (set by
.ci/run) an unreachable server fails the run instead of skipping those tests.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from server import create_app
from server.db import upgrade_database
from server.models import Base
from server.services import trending_live
from tests.security.config import GENEROUS_RATE_LIMITS

PG_URL = os.environ.get("PAPERSCOUT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("PAPERSCOUT_REQUIRE_POSTGRES") == "1"


def app_config(database_url: str, tmp_path: Path) -> dict:
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",
        "MODEL_DIR": str(tmp_path / "models"),
        "TRENDING_CACHE_SECONDS": 0,
        "MODEL_CHECK_SECONDS": 0,
        # Tests register and sign in many accounts from one address; tests/security sets low limits itself.
        **GENEROUS_RATE_LIMITS,
    }


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating every time)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    app = create_app(app_config(f"sqlite:///{path}", path.parent))
    upgrade_database(app)
    app.extensions["paperscout_db"].dispose()
    return path


@pytest.fixture(scope="session")
def postgres_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session."""
    try:
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure to connect means "not reachable"
        message = f"PostgreSQL not reachable at {make_url(PG_URL).render_as_string(hide_password=True)}: {exc}"
        if REQUIRE_PG:
            pytest.fail(message)
        pytest.skip(message)
    name = f"paperscout_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    app = create_app(app_config(url, tmp_path_factory.mktemp("pg-migrate")))
    upgrade_database(app)
    app.extensions["paperscout_db"].dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _truncate(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        for statement in trending_live.rebuild_sql("postgresql", datetime.now(UTC)):  # as the migration leaves it
            conn.execute(text(statement))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "paperscout.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_database")
    _truncate(url)
    return url


@pytest.fixture
def app(database_url: str, tmp_path: Path):
    app = create_app(app_config(database_url, tmp_path))
    yield app
    app.extensions["paperscout_db"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class Accounts:
    """Registers users through the real API and hands out their auth headers."""

    def __init__(self, client) -> None:
        self.client = client
        self._n = 0

    def new(self, email: str | None = None, password: str = "correct horse battery") -> dict:
        self._n += 1
        email = email or f"user{self._n}@example.org"
        response = self.client.post("/api/v1/auth/register", json={"email": email, "password": password})
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        # The test client keeps cookies; tests authenticate with the bearer token, like the extension.
        self.client.delete_cookie("session")
        return {
            "email": email,
            "token": body["token"],
            "id": body["user"]["id"],
            "headers": {"Authorization": f"Bearer {body['token']}"},
        }


@pytest.fixture
def accounts(client) -> Accounts:
    return Accounts(client)
