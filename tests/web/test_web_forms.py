"""The web app's forms on the real app (SQLite and PostgreSQL): accounts, CSRF, choices, settings, error pages."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from server import create_app
from server.db import db
from server.models import ApiToken, Dismissal, Paper, Save, User
from tests.api.helpers import assert_error_shape
from tests.conftest import Accounts, app_config
from tests.web.helpers import HTML, JSON, csrf_of, errors_of, heading_of, sign_up

PAPER = "arxiv:2401.01234"
FRESH = "arxiv:2401.05678"


def add_paper(app, key: str = PAPER, title: str = "Attention for graphs", **extra) -> None:
    with app.app_context():
        paper = Paper(key=key, title=title, abstract="We study attention.", authors=["A. Author"], **extra)
        db.session.add(paper)
        db.session.commit()


def count(app, model, **where) -> int:
    with app.app_context():
        query = select(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return len(db.session.scalars(query).all())


def test_pages_render_for_anonymous_readers_under_the_html_csp(client, app):
    add_paper(app)
    for path in ("/", "/trending", "/search?q=attention", "/signin", "/signup", f"/papers/{PAPER}"):
        response = client.get(path, headers=HTML)
        assert response.status_code == 200, path
        assert response.mimetype == "text/html"
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp
        assert "<script>" not in response.text and "style=" not in response.text  # nothing inline to block
    assert "Attention for graphs" in client.get("/search?q=attention").text
    assert client.get("/static/app.js").status_code == 200


def test_personal_pages_send_anonymous_readers_to_sign_in_and_back(client):
    for path in ("/new", "/saved", "/settings", "/welcome"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/signin?next=" in response.headers["Location"]


def test_sign_up_validates_and_refuses_a_taken_email(client):
    short = client.post("/signup", data={"email": "a@example.org", "password": "short", "confirm": "short"})
    assert short.status_code == 422 and any("8" in e for e in errors_of(short.text))
    differ = client.post("/signup", data={"email": "a@example.org", "password": "long enough 1", "confirm": "x"})
    assert differ.status_code == 422 and "The two passwords differ." in errors_of(differ.text)
    sign_up(client, "a@example.org")
    client.post("/signout", data={"csrf_token": csrf_of(client)})
    again = client.post(
        "/signup", data={"email": "A@example.org", "password": "long enough 1", "confirm": "long enough 1"}
    )
    assert again.status_code == 422 and "exists already" in " ".join(errors_of(again.text))


def test_sign_in_checks_the_password_and_only_follows_local_next(client):
    sign_up(client, "b@example.org", "the right password")
    client.post("/signout", data={"csrf_token": csrf_of(client)})
    wrong = client.post("/signin", data={"email": "b@example.org", "password": "not it"})
    assert wrong.status_code == 401 and "Wrong email or password." in errors_of(wrong.text)
    ok = client.post("/signin", data={"email": "b@example.org", "password": "the right password", "next": "/saved"})
    assert ok.status_code == 303 and ok.headers["Location"] == "/saved"
    client.post("/signout", data={"csrf_token": csrf_of(client)})
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        response = client.post(
            "/signin", data={"email": "b@example.org", "password": "the right password", "next": evil}
        )
        assert response.status_code == 303 and response.headers["Location"] == "/", evil
        client.post("/signout", data={"csrf_token": csrf_of(client)})


def test_sign_out_ends_the_session_everywhere(client, app):
    sign_up(client)
    cookie = client.get_cookie("session").value
    token = csrf_of(client)
    assert client.post("/signout", data={"csrf_token": token}).status_code == 303
    stolen = app.test_client()
    stolen.set_cookie("session", cookie)
    assert stolen.get("/saved").status_code == 302  # the old cookie no longer signs anyone in


def test_every_change_needs_the_csrf_token_and_a_trusted_origin(client, app):
    add_paper(app)
    token = sign_up(client)
    for data in ({}, {"csrf_token": "forged"}):
        refused = client.post(f"/papers/{PAPER}/save", data=data, headers=HTML)
        assert refused.status_code == 403 and refused.mimetype == "text/html"
        assert "expired or came from elsewhere" in refused.text and "Traceback" not in refused.text
    foreign = client.post(
        f"/papers/{PAPER}/save", data={"csrf_token": token}, headers={**HTML, "Origin": "http://evil.example"}
    )
    assert foreign.status_code == 403
    for path in ("/settings/tracking", "/settings/reset", "/settings/delete", "/signout", "/welcome"):
        assert client.post(path, data={"paused": "1", "confirm": "yes"}).status_code == 403, path
    assert count(app, Save) == 0 and count(app, User) == 1
    saved = client.post(f"/papers/{PAPER}/save", data={"csrf_token": token, "next": "/saved"})
    assert saved.status_code == 303 and saved.headers["Location"] == "/saved"
    assert count(app, Save) == 1


def test_choices_answer_the_pages_script_with_json(client, app):
    add_paper(app)
    token = sign_up(client)
    state = client.post(f"/papers/{PAPER}/save", data={"csrf_token": token}, headers=JSON).get_json()
    assert state == {"key": PAPER, "saved": True, "dismissed": False}
    state = client.post(f"/papers/{PAPER}/dismiss", data={"csrf_token": token}, headers=JSON).get_json()
    assert state["dismissed"] is True
    state = client.post(f"/papers/{PAPER}/undismiss", data={"csrf_token": token}, headers=JSON).get_json()
    assert state["dismissed"] is False and count(app, Dismissal) == 0
    state = client.post(f"/papers/{PAPER}/unsave", data={"csrf_token": token}, headers=JSON).get_json()
    assert state["saved"] is False and count(app, Save) == 0
    # The script's errors come in the API's one error shape; nothing is created for an unknown paper.
    assert_error_shape(client.post("/papers/arxiv:2999.00001/save", data={"csrf_token": token}, headers=JSON), 404)
    assert count(app, Paper) == 1


def test_lists_show_date_authors_reasons_abstract_and_buttons(client, app):
    add_paper(app)
    token = sign_up(client)
    client.post(f"/papers/{PAPER}/save", data={"csrf_token": token})
    page = client.get("/saved").text
    assert "Attention for graphs" in page and "A. Author" in page and "Saved on " in page
    assert '<details class="abstract"><summary>Abstract</summary>' in page
    assert f'action="/papers/{PAPER}/unsave"' in page and 'aria-pressed="true"' in page
    assert f'href="/papers/{PAPER}#similar"' in page
    assert client.get("/").status_code == 200
    add_paper(app, FRESH, "Fresh attention", published_at=datetime.now(UTC) - timedelta(days=2))
    new = client.get("/new").text
    assert "Fresh attention" in new and "Attention for graphs" not in new  # published this week; saved is not news
    client.post(f"/papers/{FRESH}/dismiss", data={"csrf_token": token})
    assert "Fresh attention" not in client.get("/new").text  # a dismissed paper leaves the list


def test_error_pages_are_friendly_and_the_api_keeps_its_error_shape(client):
    missing = client.get("/no/such/page", headers=HTML)
    assert missing.status_code == 404 and heading_of(missing.text) == "Page not found"
    unknown = client.get("/papers/arxiv:2999.00001", headers=HTML)
    assert unknown.status_code == 404 and "arxiv:2999.00001" in unknown.text
    sign_up(client)
    broken = client.get("/saved?cursor=not-a-cursor")
    assert broken.status_code == 400 and "Traceback" not in broken.text
    assert_error_shape(client.get("/api/v1/no-such-thing", headers=HTML), 404)
    assert_error_shape(client.get("/no/such/page"), 404)  # no browser: the error shape


def test_settings_tracking_reset_tokens_and_password(client, app):
    token = sign_up(client, "c@example.org", "first password")
    assert client.post("/settings/tracking", data={"csrf_token": token, "paused": "1"}).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(User.tracking_paused)) is True
    unconfirmed = client.post("/settings/reset", data={"csrf_token": token})
    assert unconfirmed.status_code == 422 and "Tick the box to confirm." in errors_of(unconfirmed.text)
    assert client.post("/settings/reset", data={"csrf_token": token, "confirm": "yes"}).status_code == 303

    extension = client.post("/api/v1/auth/login", json={"email": "c@example.org", "password": "first password"})
    token = csrf_of(client)
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id))
    assert client.post(f"/settings/tokens/{token_id}/revoke", data={"csrf_token": token}).status_code == 303
    bearer = {"Authorization": f"Bearer {extension.get_json()['token']}"}
    assert client.get("/api/v1/me", headers=bearer).status_code == 401
    other = Accounts(app.test_client()).new()  # another client: this one keeps its session cookie
    with app.app_context():
        foreign_id = db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == other["id"]))
    token = csrf_of(client)
    assert client.post(f"/settings/tokens/{foreign_id}/revoke", data={"csrf_token": token}).status_code == 404
    assert client.get("/api/v1/me", headers=other["headers"]).status_code == 200

    form = {"csrf_token": token, "current_password": "wrong", "new_password": "second password"}
    wrong = client.post("/settings/password", data={**form, "confirm": "second password"})
    assert wrong.status_code == 403 and "This is not your current password." in errors_of(wrong.text)
    form["current_password"] = "first password"
    changed = client.post("/settings/password", data={**form, "confirm": "second password"})
    assert changed.status_code == 303 and client.get("/settings").status_code == 200  # still signed in
    client.post("/signout", data={"csrf_token": csrf_of(client)})
    assert client.post("/signin", data={"email": "c@example.org", "password": "second password"}).status_code == 303


def test_delete_account_needs_the_email_typed(client, app):
    token = sign_up(client, "d@example.org")
    refused = client.post("/settings/delete", data={"csrf_token": token, "confirm_email": "someone@else.org"})
    assert refused.status_code == 422 and count(app, User) == 1
    done = client.post("/settings/delete", data={"csrf_token": token, "confirm_email": "D@example.org"})
    assert done.status_code == 303 and count(app, User) == 0
    assert client.get("/settings").status_code == 302


def test_sign_in_and_up_forms_share_the_apis_limits_and_answer_429_with_a_page(database_url, tmp_path):
    low = {
        **app_config(database_url, tmp_path),
        "RATELIMIT_LOGIN_PER_IP": "100 per minute",
        "RATELIMIT_LOGIN_FAILURES_PER_ACCOUNT": "3 per minute",
        "RATELIMIT_REGISTER_PER_IP": "2 per minute",
        "RATELIMIT_KEY_PREFIX": f"web-{uuid.uuid4().hex}",
    }
    app = create_app(low)
    try:
        client = app.test_client()
        for _ in range(5):
            assert client.get("/signup").status_code == 200  # showing a form is no attempt
        statuses = [client.post("/signup", data={"email": "bad"}, headers=HTML).status_code for _ in range(3)]
        assert statuses == [422, 422, 429]
        # Failed sign-ins count against the account, with the API's failures (one bucket).
        wrong = {"email": "e@example.org", "password": "not the password"}
        assert client.post("/api/v1/auth/login", json=wrong).status_code == 401
        assert [client.post("/signin", data=wrong).status_code for _ in range(3)] == [401, 401, 429]
        limited = client.post("/signin", data=wrong, headers=HTML)
        assert limited.mimetype == "text/html" and int(limited.headers["Retry-After"]) >= 1
        assert heading_of(limited.text) == "Too many attempts"
    finally:
        app.extensions["paperscout_db"].dispose()
