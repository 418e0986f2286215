from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, event, select, update

from server.db import db
from server.models import ApiToken
from tests.api.helpers import assert_error_shape

API = "/api/v1"


def test_register_login_me_logout(client, accounts):
    user = accounts.new("Alice@Example.org")
    me = client.get(f"{API}/me", headers=user["headers"]).get_json()
    assert me["email"] == "alice@example.org" and me["is_admin"] is False

    login = client.post(f"{API}/auth/login", json={"email": "ALICE@example.org", "password": "correct horse battery"})
    assert login.status_code == 200
    token = login.get_json()["token"]
    assert token.startswith("ps_") and token != user["token"]
    # The session cookie set by login authenticates page requests too; its changes carry the CSRF token.
    assert client.get(f"{API}/me").status_code == 200
    csrf = {"X-CSRF-Token": login.get_json()["csrf_token"]}
    assert client.post(f"{API}/auth/logout", headers=csrf).status_code == 204
    assert_error_shape(client.get(f"{API}/me"), 401)


def test_logout_with_token_revokes_it(client, accounts):
    user = accounts.new()
    assert client.post(f"{API}/auth/logout", headers=user["headers"]).status_code == 204
    body = assert_error_shape(client.get(f"{API}/me", headers=user["headers"]), 401)
    assert "revoked" in body["message"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "not-an-email", "password": "long enough"}, "email"),
        ({"email": "a@example.org", "password": "short"}, "password"),
        ({"email": "a@example.org"}, "password"),
        ({"password": "long enough"}, "email"),
        ({"email": "a@example.org", "password": "long enough", "admin": True}, "admin"),
        ({"email": 5, "password": "long enough"}, "email"),
        ({"email": "a@example.org", "password": ["x" * 10]}, "password"),
    ],
)
def test_register_rejects_bad_input(client, payload, field):
    body = assert_error_shape(client.post(f"{API}/auth/register", json=payload), 422)
    assert field in body["errors"]["json"]


def test_register_duplicate_email_conflicts(client, accounts):
    accounts.new("bob@example.org")
    body = assert_error_shape(
        client.post(f"{API}/auth/register", json={"email": "BOB@example.org", "password": "other password"}), 409
    )
    assert "email" in body["errors"]


@pytest.mark.parametrize(
    "credentials",
    [{"email": "carol@example.org", "password": "wrong password"}, {"email": "nobody@example.org", "password": "x"}],
)
def test_login_failures_are_401(client, accounts, credentials):
    accounts.new("carol@example.org")
    body = assert_error_shape(client.post(f"{API}/auth/login", json=credentials), 401)
    assert body["message"] == "Wrong email or password."


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        (None, "Sign in first"),
        ("Bearer ps_not-a-real-token", "Unknown token"),
        ("Token abc", "Bearer"),
        ("Bearer ", "Bearer"),
    ],
)
def test_missing_or_bad_tokens(client, header, fragment):
    headers = {"Authorization": header} if header else {}
    body = assert_error_shape(client.get(f"{API}/me", headers=headers), 401)
    assert fragment in body["message"]


def test_expired_token_is_rejected(app, client, accounts):
    user = accounts.new()
    with app.app_context():
        db.session.execute(update(ApiToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        db.session.commit()
    body = assert_error_shape(client.get(f"{API}/me", headers=user["headers"]), 401)
    assert "expired" in body["message"]


def test_token_first_use_in_a_read_while_another_request_writes(app, client, accounts, database_url):
    """A GET that is a token's first use in the hour records last_used_at. Another request committed a write
    after the GET read the token (the extension sends a save while the popup loads its lists, or its events
    while the page asks for the saved state): SQLite cannot turn that GET's read transaction into a write any
    more and answers SQLITE_BUSY at once, without waiting, so the GET failed with a 500."""
    reader, other = accounts.new(), accounts.new()
    engine = app.extensions["paperscout_db"].engine
    elsewhere = create_engine(database_url)
    written = []

    @event.listens_for(engine, "after_cursor_execute")
    def another_request_writes(_conn, _cursor, statement, *_args):
        if not written and statement.startswith("SELECT") and "FROM api_tokens" in statement:
            with elsewhere.begin() as conn:
                conn.execute(
                    update(ApiToken).where(ApiToken.user_id == other["id"]).values(last_used_at=datetime.now(UTC))
                )
            written.append(statement)

    try:
        response = client.get(f"{API}/saves", headers=reader["headers"])
    finally:
        event.remove(engine, "after_cursor_execute", another_request_writes)
        elsewhere.dispose()
    assert written, "the write in between did not happen"
    assert response.status_code == 200, response.get_data(as_text=True)
    with app.app_context():
        used = db.session.scalar(select(ApiToken.last_used_at).where(ApiToken.user_id == reader["id"]))
    assert used is not None


def test_tokens_listed_and_revocable(client, accounts):
    user = accounts.new()
    second = client.post(
        f"{API}/auth/login", json={"email": user["email"], "password": "correct horse battery", "token_name": "laptop"}
    ).get_json()["token"]
    client.delete_cookie("session")
    listing = client.get(f"{API}/tokens", headers=user["headers"]).get_json()["items"]
    assert [t["name"] for t in listing] == ["laptop", "registration"]
    assert all("hash" not in k for t in listing for k in t)
    assert [t["current"] for t in listing] == [False, True]
    laptop_id = listing[0]["id"]
    assert client.delete(f"{API}/tokens/{laptop_id}", headers=user["headers"]).status_code == 204
    body = assert_error_shape(client.get(f"{API}/me", headers={"Authorization": f"Bearer {second}"}), 401)
    assert "revoked" in body["message"]
    assert client.get(f"{API}/me", headers=user["headers"]).status_code == 200


def test_user_cannot_revoke_someone_elses_token(client, accounts):
    alice, bob = accounts.new(), accounts.new()
    bob_tokens = client.get(f"{API}/tokens", headers=bob["headers"]).get_json()["items"]
    assert_error_shape(client.delete(f"{API}/tokens/{bob_tokens[0]['id']}", headers=alice["headers"]), 404)
    assert client.get(f"{API}/me", headers=bob["headers"]).status_code == 200


def test_passwords_and_tokens_are_stored_hashed(app, accounts):
    user = accounts.new()
    from server.models import User

    with app.app_context():
        row = db.session.scalar(select(User))
        assert row.password_hash.startswith(("scrypt:", "pbkdf2:")) and "correct horse" not in row.password_hash
        stored = db.session.scalar(select(ApiToken.token_hash))
        assert stored != user["token"] and len(stored) == 64
