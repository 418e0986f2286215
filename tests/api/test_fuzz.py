"""Property-based fuzzing of the API: whatever arrives, the answer is never a 5xx, and errors keep their shape."""

from __future__ import annotations

import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server import create_app
from tests.api.helpers import event
from tests.conftest import Accounts, app_config

API = "/api/v1"
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)
fuzz = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def check(response) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code >= 400:
        assert set(response.get_json()) == {"code", "status", "message", "errors"}


@pytest.fixture
def client(sqlite_template, tmp_path):
    """Fuzzing runs on SQLite only: the API suite covers the same code paths on PostgreSQL."""
    path = tmp_path / "fuzz.sqlite3"
    shutil.copy(sqlite_template, path)
    app = create_app(app_config(f"sqlite:///{path}", tmp_path))
    yield app.test_client()
    app.extensions["paperscout_db"].dispose()


@pytest.fixture
def token_headers(client):
    return Accounts(client).new()["headers"]


@fuzz
@given(body=json_values)
def test_events_body(client, token_headers, body):
    check(client.post(f"{API}/events", json=body, headers=token_headers))


@fuzz
@given(patch=st.dictionaries(st.sampled_from(["id", "type", "paper", "occurred_at", "context", "x"]), json_values))
def test_single_event_fields(client, token_headers, patch):
    response = client.post(f"{API}/events", json={"events": [{**event(), **patch}]}, headers=token_headers)
    check(response)
    if response.status_code == 200:
        body = response.get_json()
        assert body["accepted"] + body["duplicates"] + len(body["rejected"]) == 1


@fuzz
@given(key=st.text(min_size=1, max_size=60).filter(lambda k: "/" not in k[:1]), body=json_values)
def test_save_keys_and_bodies(client, token_headers, key, body):
    check(client.put(f"{API}/saves/{key}", json=body, headers=token_headers))
    check(client.get(f"{API}/papers/{key}"))


@fuzz
@given(params=st.dictionaries(st.sampled_from(["window", "limit", "cursor", "q", "zz"]), st.text(max_size=20)))
def test_query_strings(client, token_headers, params):
    for path in ("/trending", "/recommendations", "/saves", "/papers"):
        check(client.get(f"{API}{path}", query_string=params, headers=token_headers))


@fuzz
@given(body=json_values)
def test_auth_bodies(client, token_headers, body):
    check(client.post(f"{API}/auth/register", json=body))
    check(client.post(f"{API}/auth/login", json=body))
    check(client.put(f"{API}/me/tracking", json=body, headers=token_headers))
