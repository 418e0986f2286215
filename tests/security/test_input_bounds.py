"""Issue 12, defects 4 and 9: inputs that used to end in a 500 (or were accepted against the spec) get a clean
4xx in the one error shape, identically on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json

import pytest

from tests.api.helpers import assert_error_shape, event
from tests.api.test_me_admin import admin_headers

API = "/api/v1"


def cursor(*parts) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


def post_json_text(client, path, text, headers=None):
    return client.post(path, data=text, headers={**(headers or {}), "Content-Type": "application/json"})


@pytest.mark.parametrize("depth", [33, 5000, 100_000])
@pytest.mark.parametrize("path", ["/auth/login", "/auth/register", "/events", "/admin/papers"])
def test_deeply_nested_json_is_400(client, runner, accounts, path, depth):
    headers = admin_headers(client, runner) if path.startswith("/admin") else accounts.new()["headers"]
    deep = "[" * depth + "]" * depth
    for body in (deep, '{"events": ' + deep + "}"):
        response = post_json_text(client, f"{API}{path}", body, headers)
        error = assert_error_shape(response, 400)
        assert "nested deeper than 32" in error["message"]


def test_nesting_up_to_the_limit_is_parsed(client, accounts):
    user = accounts.new()
    # 32 levels: the batch object and list, the event, its context and a value nested 28 more levels
    value = "[" * 28 + "]" * 28
    text = json.dumps({"events": [{**event(), "context": {"x": "__V__"}}]}).replace('"__V__"', value)
    body = post_json_text(client, f"{API}/events", text, user["headers"]).get_json()
    assert body["accepted"] == 0 and "context" in body["rejected"][0]["errors"]  # too deep for a context value


@pytest.mark.parametrize(
    "number", ["NaN", "Infinity", "-Infinity", "1e999", "1" * 5000], ids=["nan", "inf", "-inf", "1e999", "5000-digits"]
)
def test_numbers_json_cannot_carry_are_400(client, accounts, number):
    user = accounts.new()
    text = json.dumps({"events": [{**event(), "context": {"x": "__N__"}}]}).replace('"__N__"', number)
    assert_error_shape(post_json_text(client, f"{API}/events", text, user["headers"]), 400)


@pytest.mark.parametrize(
    "bad",
    [
        cursor("2024-01-01T00:00:00+00:00", 10**19),
        cursor("2024-01-01T00:00:00+00:00", -1),
        cursor("2024-01-01T00:00:00+00:00", True),
        cursor("9999-12-31T23:59:59-01:00", 1),
        cursor("0001-01-01T00:00:00+01:00", 1),
        cursor("2024-01-01", 1.5),
        cursor(["x"], 1),
        cursor("2024-01-01"),
        "%00",
        "not base64!",
        "A" * 201,
    ],
)
def test_saves_cursors_out_of_range_are_422(client, accounts, bad):
    user = accounts.new()
    body = assert_error_shape(client.get(f"{API}/saves", query_string={"cursor": bad}, headers=user["headers"]), 422)
    assert "cursor" in body["errors"]["query"]


def test_a_cursor_from_a_page_still_works(client, accounts):
    user = accounts.new()
    client.post(
        f"{API}/events",
        json={"events": [event("save", f"arxiv:2401.0000{i}") for i in range(3)]},
        headers=user["headers"],
    )
    first = client.get(f"{API}/saves?limit=2", headers=user["headers"]).get_json()
    rest = client.get(f"{API}/saves?limit=2&cursor={first['next_cursor']}", headers=user["headers"]).get_json()
    assert len(first["items"]) == 2 and len(rest["items"]) == 1 and rest["next_cursor"] is None


@pytest.mark.parametrize("token_id", ["9223372036854775808", "2147483648", "99999999999999999999999", "0"])
def test_path_integers_beyond_the_id_columns_are_404(client, accounts, token_id):
    user = accounts.new()
    assert_error_shape(client.delete(f"{API}/tokens/{token_id}", headers=user["headers"]), 404)


@pytest.mark.parametrize(
    "key",
    [
        "doi:10.1234/" + "a" * 290,
        "https://doi.org/10.1234/" + "a" * 290,
        "doi:10.1234/a%00b",
        "arxiv:2401.01234%00",
        "demo:x%00",
    ],
)
def test_keys_the_database_cannot_hold_are_422(client, accounts, key):
    user = accounts.new()
    assert_error_shape(client.put(f"{API}/saves/{key}", headers=user["headers"]), 422)
    assert_error_shape(client.get(f"{API}/papers/{key}"), 422)
    assert_error_shape(client.post(f"{API}/papers/{key}/dismiss", headers=user["headers"]), 422)
    assert_error_shape(client.delete(f"{API}/saves/{key}", headers=user["headers"]), 422)


def test_a_key_of_exactly_the_column_length_is_stored(client, accounts):
    user = accounts.new()
    key = "doi:10.1234/" + "a" * 288
    assert len(key) == 300
    assert client.put(f"{API}/saves/{key}", headers=user["headers"]).get_json()["paper"]["key"] == key


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("occurred_at", "9999-12-31T23:59:59-01:00"),
        ("occurred_at", "0001-01-01T00:30:00+01:00"),
        ("published_at", "9999-12-31T23:59:59-01:00"),
        ("published_at", "1000-01-01T00:00:00+00:01"),
    ],
)
def test_dates_that_leave_the_storable_years_in_utc_are_rejected(app, client, accounts, field, value):
    user = accounts.new()
    bad = event("open")
    if field == "published_at":
        bad["paper"]["published_at"] = value
    else:
        bad[field] = value
    body = client.post(f"{API}/events", json={"events": [bad, event("open")]}, headers=user["headers"]).get_json()
    assert body["accepted"] == 1 and [r["index"] for r in body["rejected"]] == [0]


@pytest.mark.parametrize(
    ("path", "query"),
    [("/papers", {"q": "a\x00b"}), ("/trending", {"window": "7d\x00"}), ("/saves", {"cursor": "\x00"})],
)
def test_query_strings_with_nul_are_422(client, accounts, path, query):
    user = accounts.new()
    assert_error_shape(client.get(f"{API}{path}", query_string=query, headers=user["headers"]), 422)


@pytest.mark.parametrize(
    ("path", "payload"),
    [
        ("/auth/register", {"email": "a@example.org", "password": "\ud800" * 8}),
        ("/auth/login", {"email": "a@example.org", "password": "\ud800"}),
        ("/auth/login", {"email": "a\x00@example.org", "password": "whatever1"}),
        ("/auth/register", {"email": "b@example.org", "password": "long enough", "token_name": "n\x00"}),
    ],
)
def test_text_that_cannot_be_stored_is_422_everywhere(client, path, payload):
    body = assert_error_shape(post_json_text(client, f"{API}{path}", json.dumps(payload)), 422)
    assert body["errors"]["json"]


@pytest.mark.parametrize("paused", [0, 1, "true", "yes", None, [], {}])
def test_paused_is_a_strict_boolean(client, accounts, paused):
    user = accounts.new()
    assert_error_shape(client.put(f"{API}/me/tracking", json={"paused": paused}, headers=user["headers"]), 422)
    assert client.put(f"{API}/me/tracking", json={"paused": True}, headers=user["headers"]).status_code == 200


def test_over_long_urls_are_414_and_headers_431_in_the_error_shape(client, app):
    limit = app.config["MAX_URL_LENGTH"]
    body = assert_error_shape(client.get(f"{API}/papers?q=" + "a" * limit), 414)
    assert str(limit) in body["message"]
    assert_error_shape(client.get(f"{API}/nothing/" + "a" * limit), 414)  # before routing answers 404
    assert client.get(f"{API}/papers?q=" + "a" * 100).status_code == 200
    assert_error_shape(client.get(f"{API}/healthz", headers={"X-Big": "x" * app.config["MAX_HEADER_LENGTH"]}), 431)
    many = {f"X-H{i}": "1" for i in range(app.config["MAX_HEADER_COUNT"] + 1)}
    assert_error_shape(client.get(f"{API}/healthz", headers=many), 431)


def test_the_url_limit_is_configurable(tmp_path, sqlite_template):
    import shutil

    from server import create_app
    from tests.conftest import app_config

    path = tmp_path / "db.sqlite3"
    shutil.copy(sqlite_template, path)
    app = create_app({**app_config(f"sqlite:///{path}", tmp_path), "MAX_URL_LENGTH": 100})
    assert_error_shape(app.test_client().get(f"{API}/papers?q=" + "a" * 100), 414)
    app.extensions["paperscout_db"].dispose()


def test_openapi_declares_key_cursor_reference_and_boolean_formats(client):
    doc = client.get(f"{API}/openapi.json").get_json()
    key_param = next(p for p in doc["paths"]["/api/v1/papers/{key}"]["parameters"] if p["name"] == "key")
    assert key_param["schema"]["format"] == "paper-key" and key_param["schema"]["pattern"]
    assert "arxiv:2401.01234" in key_param["schema"]["description"] and key_param["schema"]["maxLength"] == 2048
    for path in ("/api/v1/saves/{key}", "/api/v1/papers/{key}/similar", "/api/v1/papers/{key}/dismiss"):
        assert (
            next(p for p in doc["paths"][path]["parameters"] if p["name"] == "key")["schema"]["format"] == "paper-key"
        )
    token_param = doc["paths"]["/api/v1/tokens/{token_id}"]["parameters"][0]["schema"]
    assert (token_param["minimum"], token_param["maximum"]) == (1, 2**31 - 1)
    cursor_param = next(p for p in doc["paths"]["/api/v1/saves"]["get"]["parameters"] if p["name"] == "cursor")
    assert cursor_param["schema"]["format"] == "cursor" and cursor_param["schema"]["pattern"]
    assert "next_cursor" in cursor_param["description"]
    schemas = doc["components"]["schemas"]
    assert schemas["SavePage"]["properties"]["next_cursor"]["format"] == "cursor"
    assert schemas["PaperMeta"]["properties"]["references"]["items"]["format"] == "paper-key"
    assert schemas["Paper"]["properties"]["references"]["items"]["pattern"].startswith("^(arxiv|")
    assert schemas["Paper"]["properties"]["key"]["format"] == "paper-key"
    assert schemas["PaperMeta"]["properties"]["url"]["format"] == "uri"
    assert schemas["Tracking"]["properties"]["paused"]["type"] == "boolean"
    assert "Event" in schemas and schemas["EventBatch"]["properties"]["events"]["items"].get("nullable") is True
