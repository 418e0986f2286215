"""Served trending uses the trending settings of the model that serves: `retrain --config` can change them."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import insert

from recommender import default_config
from server.db import db
from server.models import Paper, User
from server.services import trending as trending_service
from server.services.trending import TrendingSettings, get_trending, packaged_settings
from server.services.trending_days import insert_logged
from tests.api.helpers import event
from tests.server.test_recommendations import load_catalog, retrain

API = "/api/v1"
AGE_DAYS = 3.0
DEFAULT_HALF_LIFE_7D = default_config()["trending"]["half_life_days"]["7d"]
SHORT_HALF_LIFE_7D = 0.5


@pytest.fixture(autouse=True)
def _fresh_cache(monkeypatch):
    monkeypatch.setattr(trending_service, "_cache", {})
    monkeypatch.setattr(trending_service, "_refreshing", set())


def _scores(client) -> dict[str, float]:
    body = client.get(f"{API}/trending?window=7d&limit=100").get_json()
    return {item["paper"]["key"]: item["score"] for item in body["items"]}


def test_a_retrain_with_another_trending_half_life_changes_the_served_scores(client, runner, accounts, tmp_path):
    keys = list(load_catalog(runner, tmp_path))
    for n in range(6):
        reader = accounts.new()
        # every event is AGE_DAYS old: changing the half-life scales every score by the same known factor
        events = [event(kind, key, minutes_ago=AGE_DAYS * 1440) for key in keys[n : n + 8] for kind in ("open", "save")]
        assert client.post(f"{API}/events", json={"events": events}, headers=reader["headers"]).status_code == 200
    before_any_model = _scores(client)
    assert len(before_any_model) >= 10

    retrain(runner)
    assert _scores(client) == pytest.approx(before_any_model, rel=1e-3)

    config = tmp_path / "short-half-life.json"
    config.write_text(json.dumps({"trending": {"half_life_days": {"7d": SHORT_HALF_LIFE_7D}}}))
    result = runner.invoke(args=["retrain", "--quiet", "--config", str(config)])
    assert result.exit_code == 0, result.output
    shorter = _scores(client)
    factor = 0.5 ** (AGE_DAYS / SHORT_HALF_LIFE_7D - AGE_DAYS / DEFAULT_HALF_LIFE_7D)
    assert set(shorter) == set(before_any_model)
    for key, score in before_any_model.items():
        assert shorter[key] == pytest.approx(score * factor, rel=1e-3)


def test_a_cached_list_computed_with_other_settings_is_not_served(app):
    with app.app_context():
        session = db.session
        session.execute(insert(User), [{"email": "u@x.org", "password_hash": "x"}])
        session.execute(insert(Paper), [{"key": "arxiv:2411.00001", "title": "P"}])
        insert_logged(
            session,
            [
                {
                    "user_id": 1,
                    "paper_id": 1,
                    "type": "save",
                    "occurred_at": datetime.now(UTC) - timedelta(days=AGE_DAYS),
                    "client_event_id": str(uuid.uuid4()),
                }
            ],
        )
        session.commit()
        default = packaged_settings()
        short = TrendingSettings.from_config(
            {
                "event_weights": dict(default.event_weights),
                "half_life_days": {**dict(default.half_life_days), "7d": SHORT_HALF_LIFE_7D},
                "freshness_half_life_days": default.freshness_half_life_days,
                "freshness_weight": default.freshness_weight,
                "hf_upvote_weight": default.hf_upvote_weight,
            }
        )

        def get(settings):
            return get_trending(session, "7d", cache_key="settings-test", max_age=3600, settings=settings)

        first = get(default)
        assert get(None) is first  # the packaged defaults, within the cache age: the cached list
        other = get(short)
        assert other is not first and other.settings == short
        factor = 0.5 ** (AGE_DAYS / SHORT_HALF_LIFE_7D - AGE_DAYS / DEFAULT_HALF_LIFE_7D)
        np.testing.assert_allclose(other.scores, first.scores * factor, rtol=1e-3)
        assert get(short) is other
