"""Property-based fuzzing of the API: whatever arrives, the answer is never a 5xx, and errors keep their shape."""

from __future__ import annotations

import json
import shutil
from urllib.parse import quote

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


# Text no database stores as is: NUL (PostgreSQL refuses it) and lone surrogates (no UTF-8 encoding at all),
# mixed into ordinary text, and JSON nested far beyond the parser's bound.
NASTY = ["\x00", "\ud800", "\udfff", "\udc80x", "a\x00b"]
nasty_text = st.lists(st.one_of(st.text(max_size=6), st.sampled_from(NASTY)), min_size=1, max_size=6).map("".join)
nasty_values = st.recursive(
    st.none() | st.booleans() | st.integers() | nasty_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(nasty_text, children, max_size=4),
    max_leaves=12,
)


def deep(depth: int, opener: str) -> str:
    closer = {"[": "]", "{": "}"}
    if opener == "{":
        return '{"a": ' * depth + "1" + "}" * depth
    return opener * depth + closer[opener] * depth


@fuzz
@given(
    title=nasty_text,
    authors=st.lists(nasty_text, max_size=3),
    key=st.one_of(nasty_text, st.just("doi:10.1234/").map(lambda p: p + "a" * 300)),
    context=st.dictionaries(nasty_text, nasty_values, max_size=3),
    number=st.integers(min_value=10000, max_value=99999),
)
def test_events_with_unstorable_text(client, token_headers, title, authors, key, context, number):
    nasty = event(key=f"arxiv:2402.{number}", title=title, authors=authors)  # mostly a new paper: all is written
    keyed = event(key=key)
    with_context = {**event(), "context": context}
    response = client.post(f"{API}/events", json={"events": [nasty, keyed, with_context]}, headers=token_headers)
    check(response)
    assert response.status_code == 200
    body = response.get_json()
    assert body["accepted"] + body["duplicates"] + len(body["rejected"]) == 3


@fuzz
@given(
    depth=st.integers(min_value=30, max_value=20_000),
    opener=st.sampled_from(["[", "{"]),
    where=st.sampled_from(["top", "events", "context", "paper"]),
)
def test_deeply_nested_bodies(client, token_headers, depth, opener, where):
    nested = deep(depth, opener)
    one = json.dumps(event())
    text = {
        "top": nested,
        "events": '{"events": [' + nested + "]}",
        "context": '{"events": [' + one[:-1] + ', "context": {"x": ' + nested + "}}]}",
        "paper": '{"events": [' + one.replace('"paper": {', '"paper": {"title": ' + nested + ", ", 1) + "]}",
    }[where]
    headers = {**token_headers, "Content-Type": "application/json"}
    for path in ("/events", "/auth/login", "/auth/register"):
        check(client.post(f"{API}{path}", data=text, headers=headers))
    check(client.put(f"{API}/me/tracking", data=text, headers=headers))
    check(client.put(f"{API}/saves/arxiv:2401.01234", data=text, headers=headers))


@fuzz
@given(body=nasty_values)
def test_auth_and_saves_with_unstorable_text(client, token_headers, body):
    check(client.post(f"{API}/auth/register", json={"email": "x@example.org", "password": body}))
    check(client.post(f"{API}/auth/login", json={"email": body, "password": "whatever"}))
    check(client.put(f"{API}/saves/arxiv:2401.01234", json={"paper": {"title": body}}, headers=token_headers))
    check(client.post(f"{API}/auth/register", json=body))


@fuzz
@given(text=nasty_text.filter(lambda t: not any("\ud800" <= c <= "\udfff" for c in t)))
def test_paths_and_queries_with_nul(client, token_headers, text):
    # lone surrogates cannot travel in a URL at all (it is bytes); NUL can, percent-encoded
    check(client.get(f"{API}/papers", query_string={"q": text}, headers=token_headers))
    check(client.get(f"{API}/saves", query_string={"cursor": text}, headers=token_headers))
    check(client.put(f"{API}/saves/doi:10.1234/{quote(text)}", headers=token_headers))
    check(client.get(f"{API}/papers/{quote(text, safe='')}"))
