"""Fixtures for the security tests: apps with settings of their own, browser sessions, and the rate-limit
storages (memory, and the real Redis at PAPERSCOUT_TEST_REDIS_URL, default redis://127.0.0.1:6379).

Redis tests skip with the reason when no server answers, unless PAPERSCOUT_REQUIRE_REDIS=1 (set by .ci/run).
Each test uses a key prefix of its own, so runs never share counters, and deletes its keys afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from server import create_app
from tests.conftest import app_config

REDIS_URL = os.environ.get("PAPERSCOUT_TEST_REDIS_URL", "redis://127.0.0.1:6379")
REQUIRE_REDIS = os.environ.get("PAPERSCOUT_REQUIRE_REDIS") == "1"
API = "/api/v1"
PASSWORD = "correct horse battery"


@pytest.fixture
def make_app(database_url: str, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Build the app on this test's database with some settings changed."""
    apps: list[Flask] = []

    def build(**overrides) -> Flask:
        app = create_app({**app_config(database_url, tmp_path), **overrides})
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.extensions["paperscout_db"].dispose()


def _redis_client():
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        message = f"Redis not reachable at {REDIS_URL}: {exc}"
        if REQUIRE_REDIS:
            pytest.fail(message)
        pytest.skip(message)
    return client


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def limit_storage(request: pytest.FixtureRequest) -> Iterator[dict]:
    """Rate-limit storage settings: in-memory, or the real Redis with a key prefix of this test's own."""
    prefix = f"paperscout-test-{uuid.uuid4().hex}"
    if request.param == "memory":
        yield {"RATELIMIT_STORAGE_URI": "memory://", "RATELIMIT_KEY_PREFIX": prefix}
        return
    client = _redis_client()
    yield {"RATELIMIT_STORAGE_URI": REDIS_URL, "RATELIMIT_KEY_PREFIX": prefix}
    keys = list(client.scan_iter(match=f"*{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()
    # The limiter falls back to memory when Redis fails; this proves the counts really went to Redis.
    assert keys, f"no rate-limit keys with prefix {prefix} reached Redis"


def sign_in(client, email: str, password: str = PASSWORD, **headers) -> dict:
    """Log a browser (a test client, which keeps cookies) in; returns the body with its csrf_token."""
    response = client.post(f"{API}/auth/login", json={"email": email, "password": password}, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def session_cookie(client) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None, "no session cookie"
    return cookie.value
