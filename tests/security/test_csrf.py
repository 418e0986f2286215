"""Defect 5: cookie-authenticated changes need a CSRF proof and a trusted Origin; bearer tokens need neither."""

from __future__ import annotations

import pytest

from tests.api.helpers import assert_error_shape, event
from tests.security.conftest import API, PASSWORD, sign_in

EVIL = "http://evil.example"
CHROME = "chrome-extension://oonffdfnkhcfinkfkbkngiiiabhmpfdk"
FIREFOX = "moz-extension://0b7c2f44-4b4e-4a33-9a3b-6f7b1c1d2e3f"


@pytest.fixture
def browser(client, accounts) -> dict:
    """A user with history, signed in with a session cookie in `client`."""
    user = accounts.new()
    client.post(f"{API}/events", json={"events": [event("open"), event("click")]}, headers=user["headers"])
    return {**user, "csrf": sign_in(client, user["email"])["csrf_token"]}


def _history(client, user) -> int:
    return len(client.get(f"{API}/me/export", headers=user["headers"]).get_json()["interactions"])


def test_cross_site_text_plain_post_is_refused(client, browser):
    # The reported attack: a form on another origin (another port of the same host counts) posting text/plain.
    forged = {"Origin": EVIL, "Content-Type": "text/plain"}
    body = assert_error_shape(client.post(f"{API}/me/reset", data="x", headers=forged), 403)
    assert "origin" in body["errors"]
    same_host_other_port = {"Origin": "http://localhost:8080", "Content-Type": "text/plain"}
    assert_error_shape(client.post(f"{API}/me/reset", data="x", headers=same_host_other_port), 403)
    # Even with the right CSRF token, a foreign Origin is refused.
    assert_error_shape(client.post(f"{API}/me/reset", headers={**forged, "X-CSRF-Token": browser["csrf"]}), 403)
    assert _history(client, browser) == 2
    # The same request with a bearer token is no forgery: the browser never sends a token by itself.
    response = client.post(f"{API}/me/reset", data="x", headers={**forged, **browser["headers"]})
    assert response.status_code == 200 and response.get_json()["interactions_removed"] == 2


def test_cookie_changes_need_the_csrf_token(client, browser):
    assert "X-CSRF-Token" in assert_error_shape(client.post(f"{API}/me/reset"), 403)["errors"]
    assert_error_shape(client.post(f"{API}/me/reset", headers={"X-CSRF-Token": "0" * 64}), 403)
    assert_error_shape(client.put(f"{API}/me/tracking", json={"paused": True}), 403)
    assert_error_shape(client.delete(f"{API}/me"), 403)
    assert_error_shape(client.post(f"{API}/events", json={"events": [event("save")]}), 403)
    assert _history(client, browser) == 2
    assert client.get(f"{API}/me").status_code == 200  # reads need no token

    own_origin = {"X-CSRF-Token": browser["csrf"], "Origin": "http://localhost"}
    assert client.post(f"{API}/me/reset", headers=own_origin).status_code == 200
    assert client.put(f"{API}/me/tracking", json={"paused": True}, headers=own_origin).status_code == 200


def test_csrf_token_as_a_form_field(client, browser):
    form = {"csrf_token": browser["csrf"]}
    assert client.post(f"{API}/me/reset", data=form).status_code == 200
    assert_error_shape(client.post(f"{API}/me/reset", data={"csrf_token": "wrong"}), 403)


def test_csrf_endpoint_gives_the_sessions_token(client, browser):
    response = client.get(f"{API}/auth/csrf")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert response.get_json() == {"csrf_token": browser["csrf"]}
    assert client.get(f"{API}/auth/csrf", headers=browser["headers"]).get_json()["csrf_token"] == browser["csrf"]
    client.delete_cookie("session")
    assert_error_shape(client.get(f"{API}/auth/csrf"), 401)


def test_a_stale_cookie_gets_401_not_403(app, client, browser):
    kept = client.get_cookie("session").value
    assert client.post(f"{API}/auth/logout", headers={"X-CSRF-Token": browser["csrf"]}).status_code == 204
    client.set_cookie("session", kept)
    assert_error_shape(client.post(f"{API}/me/reset"), 401)


@pytest.mark.parametrize("origin", [CHROME, FIREFOX, "http://localhost", None])
def test_extension_and_own_origin_can_sign_in(client, accounts, origin):
    user = accounts.new()
    headers = {"Origin": origin} if origin else {}
    register = client.post(
        f"{API}/auth/register", json={"email": "n@example.org", "password": PASSWORD}, headers=headers
    )
    assert register.status_code == 201 and register.get_json()["csrf_token"]
    token = sign_in(client, user["email"], **headers)["token"]
    bearer = {"Authorization": f"Bearer {token}", **headers}
    assert client.post(f"{API}/auth/logout", headers=bearer).status_code == 204


@pytest.mark.parametrize("origin", [EVIL, "null", "chrome-extension://aaaabbbbccccddddeeeeffffgggghhhh"])
def test_foreign_origins_cannot_sign_in_or_register(client, accounts, origin):
    user = accounts.new()
    login = client.post(
        f"{API}/auth/login", json={"email": user["email"], "password": PASSWORD}, headers={"Origin": origin}
    )
    assert_error_shape(login, 403)
    register = client.post(
        f"{API}/auth/register", json={"email": "n@example.org", "password": PASSWORD}, headers={"Origin": origin}
    )
    assert_error_shape(register, 403)
    assert client.get_cookie("session") is None


def test_configured_origins_replace_the_default(make_app, accounts):
    app = make_app(EXTENSION_ORIGINS="chrome-extension://abcdefghijklmnopabcdefghijklmnop")
    client = app.test_client()
    payload = {"email": "n@example.org", "password": PASSWORD}
    assert_error_shape(client.post(f"{API}/auth/register", json=payload, headers={"Origin": FIREFOX}), 403)
    assert_error_shape(client.post(f"{API}/auth/register", json=payload, headers={"Origin": CHROME}), 403)
    ok = client.post(
        f"{API}/auth/register", json=payload, headers={"Origin": "chrome-extension://abcdefghijklmnopabcdefghijklmnop"}
    )
    assert ok.status_code == 201


def test_authorization_header_means_the_cookie_is_ignored(client, browser):
    # A request with an Authorization header is judged by it alone, so skipping the CSRF check is safe.
    assert_error_shape(client.post(f"{API}/me/reset", headers={"Authorization": "Bearer ps_wrong"}), 401)
    assert_error_shape(client.post(f"{API}/me/reset", headers={"Authorization": "Basic abc"}), 401)
    assert _history(client, browser) == 2
