"""Small builders for API tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta


def event(kind: str = "open", key: str = "arxiv:2401.01234", *, minutes_ago: float = 1, **paper) -> dict:
    occurred = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return {
        "id": str(uuid.uuid4()),
        "type": kind,
        "paper": {"key": key, **paper},
        "occurred_at": occurred.isoformat().replace("+00:00", "Z"),
    }


def assert_error_shape(response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    body = response.get_json()
    assert set(body) == {"code", "status", "message", "errors"}, body
    assert body["code"] == status
    assert isinstance(body["message"], str) and body["message"]
    return body
