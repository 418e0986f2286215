"""Trending lists past their cache age are served while a background thread recomputes them."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from server.db import db
from server.models import Paper, User
from server.services import trending as trending_service
from server.services.trending import STALE_LIMIT, get_trending
from server.services.trending_days import insert_logged

MAX_AGE = 60.0


@pytest.fixture(autouse=True)
def _fresh_cache(monkeypatch):
    # The cache is per process and keyed by database URL, and the PostgreSQL tests share one database:
    # start every test here without lists cached by earlier tests.
    monkeypatch.setattr(trending_service, "_cache", {})
    monkeypatch.setattr(trending_service, "_refreshing", set())


def _seed(session, n_papers: int = 3, n_users: int = 10) -> None:
    session.execute(insert(User), [{"email": f"u{i}@x.org", "password_hash": "x"} for i in range(n_users)])
    session.execute(insert(Paper), [{"key": f"arxiv:2411.{i:05d}", "title": f"P{i}"} for i in range(1, n_papers + 1)])
    session.commit()


def _saves(session, paper_id: int, users: range) -> None:
    now = datetime.now(UTC) - timedelta(minutes=5)
    insert_logged(
        session,
        [
            {
                "user_id": u,
                "paper_id": paper_id,
                "type": "save",
                "occurred_at": now,
                "client_event_id": str(uuid.uuid4()),
            }
            for u in users
        ],
    )
    session.commit()


def _age(key: tuple[str, str], seconds: float) -> None:
    cached = trending_service._cache[key]
    trending_service._cache[key] = dataclasses.replace(cached, computed_at=time.monotonic() - seconds)


def _join_refreshes() -> None:
    for thread in threading.enumerate():
        if thread.name.startswith("trending-refresh-"):
            thread.join(timeout=30)
            assert not thread.is_alive()


def test_stale_list_is_served_at_once_and_replaced_by_the_refresh(app):
    cache_key = f"refresh-{uuid.uuid4()}"
    with app.app_context():
        s = db.session
        factory = app.extensions["paperscout_db"].new_session
        _seed(s)
        _saves(s, 1, range(1, 4))

        def get():
            return get_trending(s, "7d", cache_key=cache_key, max_age=MAX_AGE, session_factory=factory)

        first = get()
        assert first.paper_ids.tolist() == [1]
        _saves(s, 2, range(1, 8))  # paper 2 overtakes paper 1 in the database
        assert get() is first  # within the cache age: no recomputation at all

        _age((cache_key, "7d"), MAX_AGE + 1)
        stale = get()
        assert stale.paper_ids.tolist() == [1]  # answered from the stale list, without waiting
        _join_refreshes()
        fresh = get()
        assert fresh.paper_ids.tolist() == [2, 1]
        assert fresh.readers.tolist() == [7, 3]

        # far too old (e.g. refreshes kept failing): the request computes the list itself
        _saves(s, 3, range(1, 11))
        _age((cache_key, "7d"), STALE_LIMIT * MAX_AGE + 1)
        assert get().paper_ids.tolist() == [3, 2, 1]


def test_a_failing_refresh_keeps_the_stale_list_and_is_retried(app, caplog):
    cache_key = f"refresh-{uuid.uuid4()}"
    with app.app_context():
        s = db.session
        _seed(s)
        _saves(s, 1, range(1, 4))
        first = get_trending(s, "7d", cache_key=cache_key, max_age=MAX_AGE)
        _saves(s, 2, range(1, 8))
        _age((cache_key, "7d"), MAX_AGE + 1)

        def broken():
            raise RuntimeError("database went away")

        with caplog.at_level(logging.ERROR, logger="server.services.trending"):
            stale = get_trending(s, "7d", cache_key=cache_key, max_age=MAX_AGE, session_factory=broken)
            _join_refreshes()
        assert stale.paper_ids.tolist() == first.paper_ids.tolist() == [1]
        assert "background refresh of the 7d trending list failed" in caplog.text
        # the failed refresh released its slot: the next stale request refreshes again, and succeeds
        factory = app.extensions["paperscout_db"].new_session
        get_trending(s, "7d", cache_key=cache_key, max_age=MAX_AGE, session_factory=factory)
        _join_refreshes()
        assert get_trending(s, "7d", cache_key=cache_key, max_age=MAX_AGE).paper_ids.tolist() == [2, 1]


def test_only_one_refresh_per_list_runs_at_a_time(app):
    started, release = threading.Event(), threading.Event()
    calls = []

    def slow_factory():
        calls.append(1)
        started.set()
        release.wait(timeout=30)
        return app.extensions["paperscout_db"].new_session()

    key = (f"refresh-{uuid.uuid4()}", "7d")
    with app.app_context():
        _seed(db.session)
        first = trending_service.refresh_in_background(key, "7d", slow_factory)
        assert first is not None and started.wait(timeout=30)
        assert trending_service.refresh_in_background(key, "7d", slow_factory) is None
        release.set()
        first.join(timeout=30)
    assert calls == [1]
    assert key in trending_service._cache


def test_trending_endpoint_serves_the_cached_list_while_refreshing(app, client):
    window = "7d"
    app.config["TRENDING_CACHE_SECONDS"] = MAX_AGE
    with app.app_context():
        _seed(db.session)
        _saves(db.session, 1, range(1, 4))

    def top() -> list[str]:
        response = client.get(f"/api/v1/trending?window={window}&limit=5")
        assert response.status_code == 200, response.get_json()
        return [item["paper"]["key"] for item in response.get_json()["items"]]

    assert top() == ["arxiv:2411.00001"]
    with app.app_context():
        _saves(db.session, 2, range(1, 8))
    assert top() == ["arxiv:2411.00001"]  # cached
    key = next(k for k in trending_service._cache if k[0] == app.config["DATABASE_URL"] and k[1] == window)
    _age(key, MAX_AGE + 1)
    assert top() == ["arxiv:2411.00001"]  # stale, refreshed behind the response
    _join_refreshes()
    assert top() == ["arxiv:2411.00002", "arxiv:2411.00001"]
