"""Defect 6: abuse limits (Flask-Limiter), on in-memory storage and on the real Redis, with low limits set
here. 429 answers use the one error shape and carry Retry-After."""

from __future__ import annotations

import pytest

from server import create_app
from tests.api.helpers import assert_error_shape, event
from tests.conftest import app_config
from tests.security.conftest import API, PASSWORD

GENEROUS = "1000 per minute"


def _limited_app(make_app, limit_storage, **limits):
    settings = {
        "RATELIMIT_LOGIN_PER_IP": GENEROUS,
        "RATELIMIT_LOGIN_FAILURES_PER_ACCOUNT": GENEROUS,
        "RATELIMIT_REGISTER_PER_IP": GENEROUS,
        "RATELIMIT_EVENTS_PER_USER": GENEROUS,
        **limits,
    }
    return make_app(**limit_storage, **settings)


def _register(client, email: str, address: str = "127.0.0.1"):
    return client.post(
        f"{API}/auth/register",
        json={"email": email, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": address},
    )


def _login(client, email: str, password: str = PASSWORD, address: str = "127.0.0.1", **headers):
    return client.post(
        f"{API}/auth/login",
        json={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
        headers=headers,
    )


def assert_rate_limited(response) -> dict:
    body = assert_error_shape(response, 429)
    assert int(response.headers["Retry-After"]) >= 1
    return body


def test_login_per_address(make_app, limit_storage):
    app = _limited_app(make_app, limit_storage, RATELIMIT_LOGIN_PER_IP="3 per minute")
    client = app.test_client()
    assert _register(client, "a@example.org").status_code == 201
    assert [_login(client, "a@example.org", p).status_code for p in (PASSWORD, "wrong", PASSWORD)] == [200, 401, 200]
    body = assert_rate_limited(_login(client, "a@example.org"))
    assert "address" in body["message"]
    assert _login(client, "a@example.org", address="192.0.2.7").status_code == 200
    # X-Forwarded-For is the client's to write unless a trusted proxy sets it: it changes nothing here.
    assert_rate_limited(_login(client, "a@example.org", **{"X-Forwarded-For": "198.51.100.1"}))


def test_forwarded_address_behind_a_trusted_proxy(make_app, limit_storage):
    app = _limited_app(make_app, limit_storage, RATELIMIT_LOGIN_PER_IP="1 per minute", TRUSTED_PROXIES=1)
    client = app.test_client()
    _register(client, "a@example.org")
    assert _login(client, "a@example.org", **{"X-Forwarded-For": "198.51.100.1"}).status_code == 200
    assert_rate_limited(_login(client, "a@example.org", **{"X-Forwarded-For": "198.51.100.1"}))
    # One proxy: only the address it appended counts, not what the client put before it.
    spoofed = {"X-Forwarded-For": "203.0.113.9, 198.51.100.1"}
    assert_rate_limited(_login(client, "a@example.org", **spoofed))
    assert _login(client, "a@example.org", **{"X-Forwarded-For": "198.51.100.2"}).status_code == 200


def test_failed_sign_ins_per_account(make_app, limit_storage):
    app = _limited_app(make_app, limit_storage, RATELIMIT_LOGIN_FAILURES_PER_ACCOUNT="2 per 15 minutes")
    client = app.test_client()
    for email in ("carol@example.org", "dave@example.org"):
        assert _register(client, email).status_code == 201
    # Successes never count.
    assert all(_login(client, "carol@example.org").status_code == 200 for _ in range(4))
    # Two failures, from two addresses and spellings of the email, use the account's allowance...
    assert _login(client, "carol@example.org", "wrong 1", address="192.0.2.1").status_code == 401
    assert _login(client, "Carol@Example.ORG", "wrong 2", address="192.0.2.2").status_code == 401
    # ...then even the right password waits: the password is not checked at all.
    body = assert_rate_limited(_login(client, "carol@example.org", address="192.0.2.3"))
    assert "account" in body["message"]
    # Other accounts are not affected, and unknown emails have buckets of their own.
    assert _login(client, "dave@example.org").status_code == 200
    assert _login(client, "nobody@example.org", "x").status_code == 401


def test_wrong_passwords_at_password_change_count_for_the_account(make_app, limit_storage):
    app = _limited_app(make_app, limit_storage, RATELIMIT_LOGIN_FAILURES_PER_ACCOUNT="2 per 15 minutes")
    client = app.test_client()
    token = _register(client, "erin@example.org").get_json()["token"]
    client.delete_cookie("session")
    bearer = {"Authorization": f"Bearer {token}"}
    wrong = {"current_password": "not it", "new_password": "a new secret phrase"}
    for _ in range(2):
        assert_error_shape(client.put(f"{API}/me/password", json=wrong, headers=bearer), 403)
    right = {"current_password": PASSWORD, "new_password": "a new secret phrase"}
    assert_rate_limited(client.put(f"{API}/me/password", json=right, headers=bearer))
    assert_rate_limited(_login(client, "erin@example.org"))


def test_register_per_address(make_app, limit_storage):
    app = _limited_app(make_app, limit_storage, RATELIMIT_REGISTER_PER_IP="2 per hour")
    client = app.test_client()
    assert _register(client, "a@example.org").status_code == 201
    assert _register(client, "a@example.org").status_code == 409  # failures count too
    body = assert_rate_limited(_register(client, "b@example.org"))
    assert "accounts" in body["message"]
    assert _register(client, "b@example.org", address="192.0.2.9").status_code == 201


def test_event_batches_per_user(make_app, limit_storage):
    app = _limited_app(make_app, limit_storage, RATELIMIT_EVENTS_PER_USER="2 per minute")
    client = app.test_client()
    tokens = []
    for email in ("a@example.org", "b@example.org"):
        tokens.append({"Authorization": f"Bearer {_register(client, email).get_json()['token']}"})
        client.delete_cookie("session")
    for _ in range(2):
        assert client.post(f"{API}/events", json={"events": [event()]}, headers=tokens[0]).status_code == 200
    assert_rate_limited(client.post(f"{API}/events", json={"events": [event()]}, headers=tokens[0]))
    assert client.post(f"{API}/events", json={"events": [event()]}, headers=tokens[1]).status_code == 200
    # The extension reads 429 and its Retry-After cross-origin.
    limited = client.post(
        f"{API}/events",
        json={"events": [event()]},
        headers={**tokens[0], "Origin": "chrome-extension://oonffdfnkhcfinkfkbkngiiiabhmpfdk"},
    )
    assert_rate_limited(limited)
    assert "Retry-After" in limited.headers["Access-Control-Expose-Headers"]


def test_unreachable_storage_falls_back_to_memory(make_app):
    # Nothing listens on port 1: no request may fail with a 500, and the limits still hold per process.
    app = make_app(RATELIMIT_STORAGE_URI="redis://127.0.0.1:1", RATELIMIT_REGISTER_PER_IP="1 per hour")
    client = app.test_client()
    assert _register(client, "a@example.org").status_code == 201
    assert_rate_limited(_register(client, "b@example.org"))


@pytest.mark.parametrize(
    "setting", ["RATELIMIT_LOGIN_PER_IP", "RATELIMIT_LOGIN_FAILURES_PER_ACCOUNT", "RATELIMIT_EVENTS_PER_USER"]
)
def test_a_malformed_limit_stops_the_start(tmp_path, setting):
    config = app_config(f"sqlite:///{tmp_path / 'x.sqlite3'}", tmp_path)
    with pytest.raises(ValueError, match="PAPERSCOUT_" + setting):
        create_app({**config, setting: "lots"})
