import pytest
from sqlalchemy import create_engine, inspect

from server import create_app
from server.db import upgrade_database
from tests.api.helpers import assert_error_shape

API = "/api/v1"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/nope", 404),
        ("get", f"{API}/nope", 404),
        ("delete", f"{API}/trending", 405),
        ("get", f"{API}/events", 405),
        ("put", f"{API}/auth/login", 405),
        ("get", f"{API}/tokens/abc", 404),
    ],
)
def test_http_errors_use_the_error_shape(client, method, path, status):
    assert_error_shape(getattr(client, method)(path), status)


def test_openapi_document_describes_the_api(client):
    doc = client.get(f"{API}/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    for path in (
        "/api/v1/events",
        "/api/v1/saves",
        "/api/v1/saves/{key}",
        "/api/v1/recommendations",
        "/api/v1/trending",
        "/api/v1/auth/register",
        "/api/v1/me/export",
        "/api/v1/healthz",
    ):
        assert path in doc["paths"], path
    schemas = doc["components"]["schemas"]
    assert {"EventBatch", "EventBatchResult", "ListResult", "Paper"} <= set(schemas)


def test_healthz(client):
    body = client.get(f"{API}/healthz").get_json()
    assert body == {"status": "ok", "database": "ok", "model": {"version": None}}
    assert client.get("/healthz").status_code == 307


def test_migrations_upgrade_an_empty_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "x", "MODEL_DIR": str(tmp_path / "m")})
    upgrade_database(app)
    upgrade_database(app)  # a second run is a no-op
    tables = set(inspect(create_engine(url)).get_table_names())
    assert {
        "users",
        "api_tokens",
        "papers",
        "interactions",
        "saves",
        "dismissals",
        "model_versions",
        "alembic_version",
    } <= tables


@pytest.mark.postgres
def test_migrations_on_postgres(postgres_database):
    tables = set(inspect(create_engine(postgres_database)).get_table_names())
    assert {"users", "interactions", "alembic_version"} <= tables


def test_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("PAPERSCOUT_INSTANCE", str(tmp_path / "instance"))
    config = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "MODEL_DIR": str(tmp_path / "m")}
    first = create_app(config).config["SECRET_KEY"]
    second = create_app(config).config["SECRET_KEY"]
    assert first == second and len(first) >= 32
    assert (tmp_path / "instance" / "secret_key").stat().st_mode & 0o077 == 0


def test_migrations_match_the_models(database_url):
    """The ORM models and the migrated schema agree (no pending autogenerate diff), on both databases."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from server.models import Base
    from server.services.catalog import is_search_schema

    # full-text search lives outside the ORM models (FTS5 / a generated tsvector column): not a pending diff
    opts = {"compare_type": False, "include_name": lambda name, kind, parent: not is_search_schema(name)}
    engine = create_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)
    engine.dispose()
    assert diff == []
