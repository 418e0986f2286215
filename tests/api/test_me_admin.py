import json

import pytest
from sqlalchemy import func, select

from server.db import db
from server.models import ApiToken, Interaction, Paper, Save, User
from tests.api.helpers import assert_error_shape, event

API = "/api/v1"


def test_export_holds_everything_about_me(client, accounts):
    user = accounts.new()
    client.post(
        f"{API}/events",
        json={"events": [event("open", "arxiv:2401.00001", title="T1"), event("save", "arxiv:2401.00001")]},
        headers=user["headers"],
    )
    client.post(f"{API}/papers/arxiv:2401.00001/dismiss", headers=user["headers"])
    response = client.get(f"{API}/me/export", headers=user["headers"])
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    body = json.loads(response.get_data())
    assert body["user"]["email"] == user["email"]
    assert [i["type"] for i in body["interactions"]] == ["open", "save", "dismiss"]
    assert body["saves"][0]["paper"]["title"] == "T1"
    assert body["dismissals"][0]["paper_key"] == "arxiv:2401.00001"
    assert len(body["tokens"]) == 1 and "token_hash" not in body["tokens"][0]


def test_delete_me_erases_my_rows_only(app, client, accounts):
    alice, bob = accounts.new(), accounts.new()
    for user in (alice, bob):
        client.post(f"{API}/events", json={"events": [event("save", "arxiv:2401.00001")]}, headers=user["headers"])
    assert client.delete(f"{API}/me", headers=alice["headers"]).status_code == 204
    assert_error_shape(client.get(f"{API}/me", headers=alice["headers"]), 401)
    with app.app_context():
        s = db.session
        assert s.scalar(select(func.count()).select_from(User)) == 1
        for model in (Interaction, Save, ApiToken):
            assert s.scalar(select(func.count()).select_from(model).where(model.user_id == alice["id"])) == 0
        assert s.scalar(select(func.count()).select_from(Interaction)) == 1
        assert s.scalar(select(func.count()).select_from(Paper)) == 1  # papers are shared, not personal
    assert len(client.get(f"{API}/saves", headers=bob["headers"]).get_json()["items"]) == 1


@pytest.mark.parametrize("body", [{}, {"paused": "sometimes"}, {"paused": True, "x": 1}])
def test_tracking_bad_input(client, accounts, body):
    user = accounts.new()
    assert_error_shape(client.put(f"{API}/me/tracking", json=body, headers=user["headers"]), 422)


def make_admin(runner, email="root@example.org", password="admin password"):
    result = runner.invoke(args=["create-user", "--admin", email], input=password + "\n")
    assert result.exit_code == 0, result.output
    return email, password


def admin_headers(client, runner) -> dict:
    """A new admin's bearer-token headers (the login's session cookie is dropped)."""
    email, password = make_admin(runner)
    token = client.post(f"{API}/auth/login", json={"email": email, "password": password}).get_json()["token"]
    client.delete_cookie("session")
    return {"Authorization": f"Bearer {token}"}


def test_admin_endpoints_need_admin(client, runner, accounts):
    user = accounts.new()
    for path in ("/admin/model", "/admin/stats"):
        assert_error_shape(client.get(f"{API}{path}", headers=user["headers"]), 403)
        assert_error_shape(client.get(f"{API}{path}"), 401)
    headers = admin_headers(client, runner)
    assert client.get(f"{API}/admin/stats", headers=headers).get_json()["users"] == 2
    status = client.get(f"{API}/admin/model", headers=headers).get_json()
    assert status["version"] is None and "retrain" in status["message"]
    assert client.post(f"{API}/admin/model/reload", headers=headers).get_json() == {"version": None}
    assert_error_shape(client.post(f"{API}/admin/model/reload", headers=user["headers"]), 403)


def test_admin_import_papers(client, runner):
    headers = admin_headers(client, runner)
    ok = client.post(
        f"{API}/admin/papers",
        json={
            "papers": [
                {"key": "arxiv:2401.00001", "title": "One"},
                {"url": "https://arxiv.org/abs/2401.00002", "title": "Two"},
            ]
        },
        headers=headers,
    )
    assert ok.get_json() == {"imported": 2}
    bad = client.post(
        f"{API}/admin/papers", json={"papers": [{"key": "arxiv:2401.00003"}, {"key": "bad"}]}, headers=headers
    )
    body = assert_error_shape(bad, 422)
    assert "1" in body["errors"]["json"]["papers"]
    assert_error_shape(client.get(f"{API}/papers/arxiv:2401.00003"), 404)


def test_create_user_cli_rejects_short_password(runner):
    result = runner.invoke(args=["create-user", "x@example.org"], input="short\n")
    assert result.exit_code != 0 and "8 characters" in result.output


def test_import_papers_cli_validates_whole_file(app, runner, tmp_path):
    good = tmp_path / "good.jsonl"
    good.write_text(
        "\n".join(
            json.dumps(p)
            for p in [
                {"key": "arxiv:2401.00001", "title": "First", "abstract": "Long abstract"},
                {"url": "https://openreview.net/forum?id=Abcd123", "title": "Second", "keywords": ["rl"]},
            ]
        )
    )
    result = runner.invoke(args=["import-papers", str(good)])
    assert result.exit_code == 0 and "imported 2 papers" in result.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"key": "arxiv:2401.00001", "abstract": ""}) + "\n" + json.dumps({"title": "no key"}))
    result = runner.invoke(args=["import-papers", str(bad)])
    assert result.exit_code != 0 and "record 2" in result.output and "nothing was imported" in result.output
    broken = tmp_path / "broken.json"
    broken.write_text('[{"key": "arxiv:2401.0')
    result = runner.invoke(args=["import-papers", str(broken)])
    assert result.exit_code != 0 and "not valid JSON" in result.output
    with app.app_context():
        assert db.session.scalar(select(Paper.abstract).where(Paper.key == "arxiv:2401.00001")) == "Long abstract"
        assert db.session.scalar(select(func.count()).select_from(Paper)) == 2


def test_load_demo_is_idempotent(app, runner):
    first = runner.invoke(args=["load-demo"])
    second = runner.invoke(args=["load-demo"])
    assert first.exit_code == 0 and second.exit_code == 0
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Paper))
    assert count >= 50 and f"{count} papers in the database" in second.output


def test_reset_forgets_history_but_keeps_saves(app, client, accounts):
    user, other = accounts.new(), accounts.new()
    batch = [
        event("open", "arxiv:2401.00001"),
        event("save", "arxiv:2401.00001"),
        event("save", "arxiv:2401.00002"),
        event("unsave", "arxiv:2401.00002", minutes_ago=0.5),
        event("dismiss", "arxiv:2401.00003"),
        event("save", "arxiv:2401.00001", minutes_ago=0.1),
    ]
    client.post(f"{API}/events", json={"events": batch}, headers=user["headers"])
    client.post(f"{API}/events", json={"events": [event("open", "arxiv:2401.00001")]}, headers=other["headers"])
    body = client.post(f"{API}/me/reset", headers=user["headers"]).get_json()
    assert body == {"interactions_removed": 5, "dismissals_removed": 1}
    export = client.get(f"{API}/me/export", headers=user["headers"]).get_json()
    assert [(i["type"], i["paper_key"]) for i in export["interactions"]] == [("save", "arxiv:2401.00001")]
    assert [s["paper"]["key"] for s in export["saves"]] == ["arxiv:2401.00001"] and export["dismissals"] == []
    assert len(client.get(f"{API}/me/export", headers=other["headers"]).get_json()["interactions"]) == 1
