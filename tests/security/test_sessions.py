"""Defect 1: sessions end for real. The cookie carries the user's session secret, which logout, a password
change and erasure replace; ids are never reused. Defect 6 (tokens): at most MAX_TOKENS_PER_USER active."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from server.db import db
from server.models import ApiToken
from tests.api.helpers import assert_error_shape, event
from tests.api.test_me_admin import make_admin
from tests.security.conftest import API, PASSWORD, session_cookie, sign_in


def _register_in_browser(client, email: str) -> dict:
    response = client.post(f"{API}/auth/register", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_cookie_of_a_deleted_account_reaches_nobody(client, runner, accounts):
    # The defect as reported: C is the newest account; its cookie, kept after DELETE /me, must not read the
    # next account (which got C's id on SQLite) nor, once an admin is created, the admin pages.
    accounts.new(), accounts.new()
    c = _register_in_browser(client, "carol@example.org")
    old_cookie = session_cookie(client)
    assert client.get(f"{API}/me").get_json()["id"] == c["user"]["id"]
    client.post(f"{API}/events", json={"events": [event("save")]}, headers={"X-CSRF-Token": c["csrf_token"]})
    assert client.delete(f"{API}/me", headers={"X-CSRF-Token": c["csrf_token"]}).status_code == 204

    d = accounts.new("dave@example.org")
    assert d["id"] != c["user"]["id"] and d["id"] > c["user"]["id"]
    client.put(f"{API}/saves/arxiv:2401.00042", headers=d["headers"])
    client.set_cookie("session", old_cookie)
    assert_error_shape(client.get(f"{API}/me"), 401)
    assert_error_shape(client.get(f"{API}/saves"), 401)

    make_admin(runner)
    client.set_cookie("session", old_cookie)
    assert_error_shape(client.get(f"{API}/admin/stats"), 401)
    assert_error_shape(client.get(f"{API}/me"), 401)


def test_cookie_logout_ends_every_cookie_session_of_the_user(app, client, accounts):
    user = accounts.new()
    other_browser = app.test_client()
    sign_in(other_browser, user["email"])
    csrf = sign_in(client, user["email"])["csrf_token"]
    kept = session_cookie(client)

    assert client.post(f"{API}/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert_error_shape(client.get(f"{API}/me"), 401)
    client.set_cookie("session", kept)  # a copy of the cookie, kept from before the logout
    assert_error_shape(client.get(f"{API}/me"), 401)
    assert_error_shape(client.post(f"{API}/me/reset", headers={"X-CSRF-Token": csrf}), 401)
    assert_error_shape(other_browser.get(f"{API}/me"), 401)
    # A cookie logout ends cookie sessions only; the extension's token is revoked by its own logout.
    assert client.get(f"{API}/me", headers=user["headers"]).status_code == 200


def test_token_logout_revokes_only_that_token(app, client, accounts):
    user = accounts.new()
    browser = app.test_client()
    sign_in(browser, user["email"])
    assert client.post(f"{API}/auth/logout", headers=user["headers"]).status_code == 204
    body = assert_error_shape(client.get(f"{API}/me", headers=user["headers"]), 401)
    assert "revoked" in body["message"]
    assert browser.get(f"{API}/me").status_code == 200


def test_password_change_from_a_browser(app, client, accounts):
    user = accounts.new()
    other_browser = app.test_client()
    sign_in(other_browser, user["email"])
    old_csrf = sign_in(client, user["email"])["csrf_token"]
    old_cookie = session_cookie(client)

    response = client.put(
        f"{API}/me/password",
        json={"current_password": PASSWORD, "new_password": "a new secret phrase"},
        headers={"X-CSRF-Token": old_csrf},
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["tokens_revoked"] == 3  # registration + two logins; a cookie request keeps none
    assert body["user"]["email"] == user["email"] and body["csrf_token"] != old_csrf
    assert response.headers["Cache-Control"] == "no-store"

    # This browser is signed in again with the new secret; the old CSRF token no longer works.
    assert client.get(f"{API}/me").status_code == 200
    assert_error_shape(client.post(f"{API}/me/reset", headers={"X-CSRF-Token": old_csrf}), 403)
    assert client.post(f"{API}/me/reset", headers={"X-CSRF-Token": body["csrf_token"]}).status_code == 200
    # Every other session is over: the other browser, a kept copy of the old cookie, every token.
    assert_error_shape(other_browser.get(f"{API}/me"), 401)
    stale = app.test_client()
    stale.set_cookie("session", old_cookie)
    assert_error_shape(stale.get(f"{API}/me"), 401)
    assert "revoked" in assert_error_shape(client.get(f"{API}/me", headers=user["headers"]), 401)["message"]
    # The new password is the one that signs in.
    login = stale.post(f"{API}/auth/login", json={"email": user["email"], "password": PASSWORD})
    assert_error_shape(login, 401)
    sign_in(stale, user["email"], "a new secret phrase")


def test_password_change_with_a_token_keeps_that_token(app, client, accounts):
    user = accounts.new()
    browser = app.test_client()
    other_token = sign_in(browser, user["email"])["token"]
    response = client.put(
        f"{API}/me/password",
        json={"current_password": PASSWORD, "new_password": "a new secret phrase"},
        headers=user["headers"],
    )
    assert response.status_code == 200 and response.get_json()["tokens_revoked"] == 1
    assert client.get(f"{API}/me", headers=user["headers"]).status_code == 200
    assert_error_shape(client.get(f"{API}/me", headers={"Authorization": f"Bearer {other_token}"}), 401)
    assert_error_shape(browser.get(f"{API}/me"), 401)


def test_password_change_refuses_a_wrong_current_password(app, client, accounts):
    user = accounts.new()
    browser = app.test_client()
    sign_in(browser, user["email"])
    body = assert_error_shape(
        client.put(
            f"{API}/me/password",
            json={"current_password": "not my password", "new_password": "a new secret phrase"},
            headers=user["headers"],
        ),
        403,
    )
    assert "current_password" in body["errors"]
    # Nothing changed: the browser session, the token and the old password all still work.
    assert browser.get(f"{API}/me").status_code == 200
    assert client.get(f"{API}/me", headers=user["headers"]).status_code == 200
    sign_in(app.test_client(), user["email"])


def test_password_change_validates_its_body(client, accounts):
    user = accounts.new()
    for payload, field in [
        ({"current_password": PASSWORD, "new_password": "short"}, "new_password"),
        ({"current_password": PASSWORD}, "new_password"),
        ({"new_password": "long enough now"}, "current_password"),
        ({"current_password": PASSWORD, "new_password": "long enough now", "admin": True}, "admin"),
        ({"current_password": PASSWORD, "new_password": ["x" * 10]}, "new_password"),
    ]:
        body = assert_error_shape(client.put(f"{API}/me/password", json=payload, headers=user["headers"]), 422)
        assert field in body["errors"]["json"], payload
    assert_error_shape(client.put(f"{API}/me/password", json={"current_password": PASSWORD}), 401)


def test_cli_password_reset_ends_cookie_sessions(client, runner, accounts):
    user = accounts.new()
    sign_in(client, user["email"])
    result = runner.invoke(args=["create-user", user["email"]], input="another password\n")
    assert result.exit_code == 0, result.output
    assert_error_shape(client.get(f"{API}/me"), 401)


def _active_token_count(client, headers) -> int:
    listing = client.get(f"{API}/tokens", headers=headers).get_json()["items"]
    return sum(1 for t in listing if t["revoked_at"] is None)


def test_tokens_are_capped_oldest_revoked_first(make_app):
    app = make_app(MAX_TOKENS_PER_USER=3)
    client = app.test_client()
    register = client.post(f"{API}/auth/register", json={"email": "t@example.org", "password": PASSWORD})
    first = register.get_json()["token"]
    tokens = [first] + [sign_in(client, "t@example.org")["token"] for _ in range(4)]
    client.delete_cookie("session")
    newest = {"Authorization": f"Bearer {tokens[-1]}"}

    listing = client.get(f"{API}/tokens", headers=newest).get_json()["items"]
    assert len(listing) == 5  # revoked tokens stay listed
    assert [t["revoked_at"] is None for t in listing] == [True, True, True, False, False]  # newest first
    for token in tokens[:2]:
        body = assert_error_shape(client.get(f"{API}/me", headers={"Authorization": f"Bearer {token}"}), 401)
        assert "revoked" in body["message"]
    for token in tokens[2:]:
        assert client.get(f"{API}/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    # Still revocable one by one as before.
    assert client.delete(f"{API}/tokens/{listing[1]['id']}", headers=newest).status_code == 204
    assert _active_token_count(client, newest) == 2


def test_concurrent_sign_ins_keep_the_cap(make_app):
    app = make_app(MAX_TOKENS_PER_USER=2)
    app.test_client().post(f"{API}/auth/register", json={"email": "t@example.org", "password": PASSWORD})

    def login(_: int) -> str:
        return sign_in(app.test_client(), "t@example.org")["token"]

    with ThreadPoolExecutor(max_workers=4) as pool:
        tokens = list(pool.map(login, range(8)))
    client = app.test_client()
    working = [
        t for t in tokens if client.get(f"{API}/me", headers={"Authorization": f"Bearer {t}"}).status_code == 200
    ]
    assert len(working) == 2
    assert _active_token_count(client, {"Authorization": f"Bearer {working[0]}"}) == 2


def test_expired_tokens_do_not_count_against_the_cap(make_app):
    app = make_app(MAX_TOKENS_PER_USER=2)
    client = app.test_client()
    client.post(f"{API}/auth/register", json={"email": "t@example.org", "password": PASSWORD})
    sign_in(client, "t@example.org")
    with app.app_context():
        db.session.execute(update(ApiToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        db.session.commit()
    first = sign_in(client, "t@example.org")["token"]
    second = sign_in(client, "t@example.org")["token"]
    client.delete_cookie("session")
    for token in (first, second):
        assert client.get(f"{API}/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_default_cap_is_twenty(client, accounts):
    user = accounts.new()
    for _ in range(21):
        sign_in(client, user["email"])
    client.delete_cookie("session")
    newest = {"Authorization": f"Bearer {sign_in(client, user['email'])['token']}"}
    client.delete_cookie("session")
    assert _active_token_count(client, newest) == 20
    assert_error_shape(client.get(f"{API}/me", headers=user["headers"]), 401)


def test_a_cap_below_one_stops_the_start(tmp_path):
    from server import create_app
    from tests.conftest import app_config

    config = app_config(f"sqlite:///{tmp_path / 'x.sqlite3'}", tmp_path)
    with pytest.raises(ValueError, match="PAPERSCOUT_MAX_TOKENS_PER_USER"):
        create_app({**config, "MAX_TOKENS_PER_USER": 0})
    with pytest.raises(ValueError, match="PAPERSCOUT_TRUSTED_PROXIES"):
        create_app({**config, "TRUSTED_PROXIES": -1})
