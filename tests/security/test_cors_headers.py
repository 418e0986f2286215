"""CORS only for the configured extension origins; security headers on every response; Secure cookies."""

from __future__ import annotations

import pytest

from server import create_app
from server.config import defaults
from server.security.cors import ExtensionOrigins
from tests.api.helpers import assert_error_shape
from tests.security.conftest import API, PASSWORD

CHROME = "chrome-extension://oonffdfnkhcfinkfkbkngiiiabhmpfdk"
FIREFOX = "moz-extension://0b7c2f44-4b4e-4a33-9a3b-6f7b1c1d2e3f"


def _preflight(client, origin: str, path: str = "/events", method: str = "POST"):
    return client.options(
        f"{API}{path}",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, content-type, x-csrf-token",
        },
    )


@pytest.mark.parametrize("origin", [CHROME, FIREFOX])
def test_preflight_for_the_extension(client, origin):
    response = _preflight(client, origin)
    assert 200 <= response.status_code < 300
    assert response.headers["Access-Control-Allow-Origin"] == origin
    allowed = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "x-csrf-token"} <= allowed
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert "Origin" in response.headers["Vary"]


@pytest.mark.parametrize(
    "origin", ["http://evil.example", "chrome-extension://aaaabbbbccccddddeeeeffffgggghhhh", "null", "http://localhost"]
)
def test_no_cors_for_other_origins(client, accounts, origin):
    user = accounts.new()
    assert "Access-Control-Allow-Origin" not in _preflight(client, origin).headers
    response = client.get(f"{API}/me", headers={**user["headers"], "Origin": origin})
    assert response.status_code == 200 and "Access-Control-Allow-Origin" not in response.headers
    assert "Origin" in response.headers["Vary"]


def test_extension_reads_answers_and_errors(client, accounts):
    user = accounts.new()
    ok = client.get(f"{API}/me", headers={**user["headers"], "Origin": CHROME})
    assert ok.headers["Access-Control-Allow-Origin"] == CHROME
    assert "Retry-After" in ok.headers["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Credentials" not in ok.headers
    denied = client.get(f"{API}/me", headers={"Origin": CHROME})
    assert_error_shape(denied, 401)
    assert denied.headers["Access-Control-Allow-Origin"] == CHROME


def test_origins_setting_is_parsed_strictly():
    origins = ExtensionOrigins.parse(f" {CHROME.upper()}/ , moz-extension://* ,")
    assert origins.allows(CHROME) and origins.allows(FIREFOX)
    assert not origins.allows("moz-extension://") and not origins.allows("moz-extension://a/b")
    assert not origins.allows("chrome-extension://other") and not origins.allows(None)
    assert not ExtensionOrigins.parse("").allows(CHROME)
    for bad in ["https://*", "*", "chrome-extension", "chrome-extension://a*", "https://a.example/path"]:
        with pytest.raises(ValueError, match="PAPERSCOUT_EXTENSION_ORIGINS"):
            ExtensionOrigins.parse(bad)


def test_default_origins_are_the_shipped_extension(monkeypatch):
    monkeypatch.delenv("PAPERSCOUT_EXTENSION_ORIGINS", raising=False)
    origins = ExtensionOrigins.parse(defaults()["EXTENSION_ORIGINS"])
    assert origins.exact == {CHROME} and origins.any_of_scheme == {"moz-extension"}


def test_security_headers_on_every_response(client, accounts):
    user = accounts.new()
    responses = [
        client.get(f"{API}/healthz"),
        client.get(f"{API}/me", headers=user["headers"]),
        client.get(f"{API}/me"),  # 401
        client.get(f"{API}/no-such-thing"),  # 404
        client.post(f"{API}/auth/login", json={}),  # 422
        client.get(f"{API}/openapi.json"),
    ]
    for response in responses:
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"


def test_html_gets_a_strict_content_security_policy(client):
    response = client.get("/healthz")  # a redirect with a small HTML body
    assert response.mimetype == "text/html"
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_no_store_where_tokens_or_exports_are_answered(client, accounts):
    user = accounts.new()
    stored = [
        client.post(f"{API}/auth/register", json={"email": "r@example.org", "password": PASSWORD}),
        client.post(f"{API}/auth/login", json={"email": user["email"], "password": PASSWORD}),
        client.post(f"{API}/auth/login", json={"email": user["email"], "password": "wrong password"}),
        client.get(f"{API}/auth/csrf", headers=user["headers"]),
        client.get(f"{API}/tokens", headers=user["headers"]),
        client.get(f"{API}/me/export", headers=user["headers"]),
        client.put(
            f"{API}/me/password",
            json={"current_password": PASSWORD, "new_password": "another password"},
            headers=user["headers"],
        ),
    ]
    for response in stored:
        assert response.headers.get("Cache-Control") == "no-store", response.request.path
    assert "no-store" not in client.get(f"{API}/trending").headers.get("Cache-Control", "")


def _session_set_cookie(app) -> str:
    client = app.test_client()
    response = client.post(f"{API}/auth/register", json={"email": "c@example.org", "password": PASSWORD})
    assert response.status_code == 201
    return next(v for v in response.headers.getlist("Set-Cookie") if v.startswith("session="))


def test_cookies_are_httponly_lax_and_not_secure_by_default(app):
    cookie = _session_set_cookie(app)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_secure_cookies_setting(monkeypatch, database_url, tmp_path):
    from tests.conftest import app_config

    monkeypatch.setenv("PAPERSCOUT_SECURE_COOKIES", "1")
    settings = defaults()
    assert settings["SESSION_COOKIE_SECURE"] is True and settings["REMEMBER_COOKIE_SECURE"] is True
    app = create_app(app_config(database_url, tmp_path))  # reads the variable through defaults()
    try:
        cookie = _session_set_cookie(app)
    finally:
        app.extensions["paperscout_db"].dispose()
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
