"""The database-side trending score equals the library's pure function on the same events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import insert

from recommender.trending import trending
from server.db import db
from server.models import Paper, User
from server.services.trending import compute_trending
from server.services.trending_days import insert_logged


@pytest.mark.parametrize("window", ["1d", "7d", "30d"])
def test_sql_trending_matches_library(app, window):
    rng = np.random.default_rng(3)
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    with app.app_context():
        s = db.session
        s.execute(insert(User), [{"email": f"u{i}@x.org", "password_hash": "x"} for i in range(5)])
        s.execute(
            insert(Paper),
            [
                {
                    "key": f"arxiv:2401.{i:05d}",
                    "title": f"P{i}",
                    "published_at": now - timedelta(days=int(d)) if i % 3 else None,
                }
                for i, d in enumerate(rng.integers(0, 90, 12))
            ],
        )
        events = []
        for _ in range(300):
            events.append(
                {
                    "user_id": int(rng.integers(1, 6)),
                    "paper_id": int(rng.integers(1, 13)),
                    "type": str(rng.choice(["open", "click", "save", "dismiss", "unsave"])),
                    "occurred_at": now - timedelta(hours=float(rng.uniform(0, 24 * 40))),
                    "client_event_id": str(uuid.uuid4()),
                }
            )
        insert_logged(s, events)
        s.commit()
        published = {str(p.id): p.published_at for p in s.query(Paper)}
        got = compute_trending(s, window, now=now)
    want = trending(
        [e["paper_id"] for e in events],
        [e["type"] for e in events],
        [e["occurred_at"] for e in events],
        users=[e["user_id"] for e in events],
        window=window,
        now=now,
        published_at=published,
    )
    assert [int(k) for k in want.keys] == got.paper_ids.tolist()
    np.testing.assert_allclose(got.scores, want.scores, rtol=1e-6)
    assert got.readers.tolist() == want.readers.tolist()
