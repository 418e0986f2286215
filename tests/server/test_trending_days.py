"""The per-day trending aggregate gives the list the whole log gives, after ingest, a reset and an erasure."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import distinct, func, select, text

from recommender import default_config
from server.db import db
from server.models import Interaction, TrendingDay
from server.services.trending import aggregated_reader_scores, compute_trending, log_reader_scores, packaged_settings
from server.services.trending_days import AGGREGATE_HALF_LIVES, rebuild_days
from tests.api.helpers import event

API = "/api/v1"
KEYS = [f"arxiv:2401.{i:05d}" for i in range(1, 13)]


def _post_history(client, user: dict, rng: random.Random, n: int = 60) -> None:
    """Events over the last 40 days (and a few up to the day ahead the schema allows), of every type."""
    events = [
        event(rng.choice(["open", "click", "save", "unsave", "dismiss"]), rng.choice(KEYS), minutes_ago=m)
        for m in (rng.uniform(-600, 40 * 24 * 60) for _ in range(n))
    ]
    body = client.post(f"{API}/events", json={"events": events}, headers=user["headers"]).get_json()
    assert body["accepted"] == n, body


def _assert_same_lists(app) -> None:
    now = datetime.now(UTC)
    settings = packaged_settings()
    with app.app_context():
        for window in AGGREGATE_HALF_LIVES:
            got = aggregated_reader_scores(db.session, window, now, settings)
            want = log_reader_scores(db.session, window, now, settings)
            assert set(got) == set(want) and want, window
            for paper_id, (score, readers) in want.items():
                # rel 1e-6: SQLite's julianday() in the log's query counts whole milliseconds
                assert got[paper_id][0] == pytest.approx(score, rel=1e-6), (window, paper_id)
                assert got[paper_id][1] == readers, (window, paper_id)


def _aggregate(app) -> dict:
    with app.app_context():
        return {
            (r.day, r.paper_id, r.type): (r.events, r.decay_7d, r.decay_30d)
            for r in db.session.scalars(select(TrendingDay))
        }


def _assert_aggregate_is_the_log_summed(app) -> None:
    """What ingest, reset and erasure left equals summing the remaining log from scratch."""
    kept_days = _aggregate(app)
    with app.app_context():
        s = db.session
        touched = {
            (p, at.astimezone(UTC).date()) for p, at in s.execute(select(Interaction.paper_id, Interaction.occurred_at))
        }
        touched |= {(p, d) for d, p, _ in kept_days}
        rebuild_days(s, touched)
        s.flush()
        fresh = {
            (r.day, r.paper_id, r.type): (r.events, r.decay_7d, r.decay_30d) for r in s.scalars(select(TrendingDay))
        }
        s.rollback()
    assert set(kept_days) == set(fresh)
    for key, (events, d7, d30) in fresh.items():
        assert kept_days[key][0] == events and kept_days[key][1:] == pytest.approx((d7, d30), rel=1e-12)


def test_aggregate_follows_ingest_reset_and_erasure(app, client, accounts):
    rng = random.Random(5)
    users = [accounts.new() for _ in range(4)]
    for user in users:
        _post_history(client, user, rng)
    _post_history(client, users[0], rng)  # a second batch adds to the same days
    _assert_same_lists(app)
    _assert_aggregate_is_the_log_summed(app)

    assert client.post(f"{API}/me/reset", headers=users[1]["headers"]).status_code == 200
    _assert_same_lists(app)
    _assert_aggregate_is_the_log_summed(app)

    assert client.delete(f"{API}/me", headers=users[2]["headers"]).status_code == 204
    _assert_same_lists(app)
    _assert_aggregate_is_the_log_summed(app)


def test_erased_readers_leave_the_counts(app, client, accounts):
    readers = [accounts.new() for _ in range(3)]
    for user in readers:
        batch = [event("open", KEYS[0], minutes_ago=60 * 24 * 3), event("save", KEYS[0], minutes_ago=60 * 24 * 4)]
        client.post(f"{API}/events", json={"events": batch}, headers=user["headers"])
    with app.app_context():
        assert compute_trending(db.session, "7d").readers.tolist() == [3]
    client.delete(f"{API}/me", headers=readers[0]["headers"])
    client.post(f"{API}/me/reset", headers=readers[1]["headers"])  # keeps the save: still a reader
    with app.app_context():
        assert compute_trending(db.session, "7d").readers.tolist() == [2]


def test_the_aggregate_half_lives_are_the_packaged_ones():
    assert default_config()["trending"]["half_life_days"] | AGGREGATE_HALF_LIVES == dict(
        default_config()["trending"]["half_life_days"]
    )


def test_other_half_lives_read_the_whole_log(app, client, accounts):
    from server.services.trending import TrendingSettings

    user = accounts.new()
    client.post(
        f"{API}/events", json={"events": [event("open", KEYS[0], minutes_ago=60 * 24 * 2)]}, headers=user["headers"]
    )
    section = dict(default_config()["trending"]) | {"half_life_days": {"1d": 0.25, "7d": 1.0, "30d": 7.0}}
    now = datetime.now(UTC)
    with app.app_context():
        got = compute_trending(db.session, "7d", now=now, settings=TrendingSettings.from_config(section))
    assert got.scores.tolist() == pytest.approx([0.5**2.0], rel=1e-3)  # open: weight 1, two half-lives ago


def test_the_migration_backfills_the_aggregate_from_the_log(app, client, accounts, database_url):
    """Down to 0007 with a log in place, up again: the backfilled aggregate gives the log's lists."""
    from alembic import command

    from server.db import alembic_config, upgrade_database

    rng = random.Random(7)
    for user in [accounts.new() for _ in range(3)]:
        _post_history(client, user, rng)
    app.extensions["paperscout_db"].dispose()
    command.downgrade(alembic_config(database_url), "0007")
    upgrade_database(app)
    _assert_same_lists(app)
    _assert_aggregate_is_the_log_summed(app)


def test_the_readers_table_comes_back_from_the_log_on_downgrade(app, client, accounts, database_url):
    """0010 dropped trending_readers (derived from the log); going down to 0009 derives it again."""
    from alembic import command

    from server.db import alembic_config, upgrade_database

    rng = random.Random(11)
    for user in [accounts.new() for _ in range(3)]:
        _post_history(client, user, rng)
    with app.app_context():
        logged = db.session.execute(
            select(Interaction.paper_id, Interaction.user_id, Interaction.type, Interaction.occurred_at)
        ).all()
    want: dict[tuple, list] = {}
    for paper_id, user_id, kind, at in logged:
        at = at.astimezone(UTC)
        seen = want.setdefault((paper_id, at.date(), user_id, kind), [at, at])
        seen[0], seen[1] = min(seen[0], at), max(seen[1], at)
    app.extensions["paperscout_db"].dispose()
    command.downgrade(alembic_config(database_url), "0009")
    try:
        with app.app_context():
            rows = db.session.execute(
                text("SELECT paper_id, day, user_id, type, first_at, last_at FROM trending_readers")
            ).all()
    finally:
        app.extensions["paperscout_db"].dispose()
        upgrade_database(app)
    got = {(p, _day(d), u, t): [_utc(first), _utc(last)] for p, d, u, t, first, last in rows}
    assert got == want and len(got) > 20


def _day(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _utc(value) -> datetime:
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def test_saves_through_the_api_and_library_imports_count_too(app, client, accounts):
    user = accounts.new()
    assert client.put(f"{API}/saves/{KEYS[0]}", headers=user["headers"]).status_code in (200, 201)
    bibtex = "@article{a, title={Graph things}, eprint={2401.00002}, archivePrefix={arXiv}}\n"
    response = client.post(
        f"{API}/saves/import?format=bibtex", data=bibtex, headers={**user["headers"], "Content-Type": "text/plain"}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(distinct(TrendingDay.paper_id)))) == 2
    _assert_aggregate_is_the_log_summed(app)
