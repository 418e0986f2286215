"""GET|PUT /api/v1/me/digest: off by default, validated strictly, kept per user, erased with the account."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from server.db import db
from server.models import DigestDelivery, DigestSetting
from tests.api.helpers import assert_error_shape

API = "/api/v1/me/digest"


def test_off_until_switched_on_then_kept(client, accounts):
    user = accounts.new()
    assert client.get(API, headers=user["headers"]).get_json() == {
        "frequency": "off",
        "hour": 8,
        "timezone": "UTC",
        "last_sent_at": None,
    }
    body = {"frequency": "weekly", "hour": 7, "timezone": "Europe/Berlin"}
    put = client.put(API, json=body, headers=user["headers"])
    assert put.status_code == 200 and put.get_json() == {**body, "last_sent_at": None}
    assert client.get(API, headers=user["headers"]).get_json()["timezone"] == "Europe/Berlin"
    # hour and zone left out keep their values
    off = client.put(API, json={"frequency": "off"}, headers=user["headers"]).get_json()
    assert off == {"frequency": "off", "hour": 7, "timezone": "Europe/Berlin", "last_sent_at": None}
    other = accounts.new()
    assert client.get(API, headers=other["headers"]).get_json()["frequency"] == "off"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"frequency": "daily", "timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"frequency": "daily", "timezone": "../../etc/passwd"}, "timezone"),
        ({"frequency": "daily", "timezone": ""}, "timezone"),
        ({"frequency": "hourly"}, "frequency"),
        ({"frequency": "daily", "hour": 24}, "hour"),
        ({"frequency": "daily", "hour": -1}, "hour"),
        ({"frequency": "daily", "hour": "8"}, "hour"),
        ({"frequency": "daily", "hour": True}, "hour"),
        ({"frequency": "daily", "hour": 8.5}, "hour"),
        ({"hour": 8}, "frequency"),
        ({"frequency": "daily", "email": "someone@else.org"}, "email"),
        ({"frequency": "daily", "last_sent_at": "2026-01-01T00:00:00Z"}, "last_sent_at"),
    ],
)
def test_bad_settings_are_refused_in_the_error_shape_and_change_nothing(client, accounts, body, field):
    user = accounts.new()
    client.put(API, json={"frequency": "daily", "hour": 6, "timezone": "Asia/Tokyo"}, headers=user["headers"])
    error = assert_error_shape(client.put(API, json=body, headers=user["headers"]), 422)
    assert field in error["errors"]["json"], error
    assert client.get(API, headers=user["headers"]).get_json()["timezone"] == "Asia/Tokyo"


def test_signed_out_gets_401(client):
    assert_error_shape(client.get(API), 401)
    assert_error_shape(client.put(API, json={"frequency": "daily"}), 401)


def test_erasing_the_account_erases_its_digest_rows(app, client, accounts):
    user = accounts.new()
    client.put(API, json={"frequency": "daily"}, headers=user["headers"])
    now = datetime.now(UTC)
    with app.app_context():
        db.session.add(
            DigestDelivery(user_id=user["id"], period="2026-12-02", since=now, until=now, message_id="<m@x>")
        )
        db.session.commit()
    assert client.delete("/api/v1/me", headers=user["headers"]).status_code == 204
    with app.app_context():
        for model in (DigestSetting, DigestDelivery):
            assert db.session.scalar(select(func.count()).select_from(model)) == 0


def test_the_openapi_document_describes_it(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert {"get", "put"} <= set(doc["paths"]["/api/v1/me/digest"])
    assert "DigestSettings" in doc["components"]["schemas"]
