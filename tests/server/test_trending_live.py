"""The live trending totals give the list the whole log gives: after ingest, as the window moves on (with and
without moving the cursor), after a reset, an erasure, a rescale of the epoch and the migration's backfill."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from recommender import WINDOWS, default_config
from server.db import db
from server.models import TrendingLastRead, TrendingLive, TrendingLiveState
from server.services import trending_live
from server.services.trending import compute_trending, log_reader_scores, packaged_settings
from server.services.trending_time import AGGREGATE_HALF_LIVES
from tests.api.helpers import event

API = "/api/v1"
KEYS = [f"arxiv:2402.{i:05d}" for i in range(1, 15)]
LIMIT = 4000


def _post_history(client, user: dict, rng: random.Random, n: int = 50) -> None:
    """Events over the last 12 days (and a few up to the day ahead the schema allows), of every type."""
    events = [
        event(rng.choice(["open", "click", "save", "unsave", "dismiss"]), rng.choice(KEYS), minutes_ago=m)
        for m in (rng.uniform(-600, 12 * 24 * 60) for _ in range(n))
    ]
    body = client.post(f"{API}/events", json={"events": events}, headers=user["headers"]).get_json()
    assert body["accepted"] == n, body


def _assert_live_is_the_log(app, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    with app.app_context():
        for window in AGGREGATE_HALF_LIVES:
            live = trending_live.live_reader_scores(db.engine, window, now, LIMIT)
            assert live is not None, window
            got = live[0]
            want = log_reader_scores(db.session, window, now, packaged_settings())
            assert set(got) == set(want) and want, window
            for paper_id, (score, readers) in want.items():
                # rel 1e-6: SQLite's julianday() in the log's query counts whole milliseconds
                assert got[paper_id][0] == pytest.approx(score, rel=1e-6), (window, paper_id)
                assert got[paper_id][1] == readers, (window, paper_id)


def _stored(app) -> dict:
    with app.app_context():
        rows = db.session.execute(
            select(TrendingLive.span, TrendingLive.paper_id, TrendingLive.score, TrendingLive.readers)
        )
        return {(w, p): (s, n) for w, p, s, n in rows}


def _rebuild(app, now: datetime) -> None:
    with app.app_context():
        with db.engine.begin() as conn:
            for statement in trending_live.rebuild_sql(db.engine.dialect.name, now):
                conn.execute(text(statement))


def _assert_stored_is_the_log_summed(app) -> None:
    """What ingest, moving cursors and deletions left equals summing the log again from the same cursors."""
    kept = _stored(app)
    with app.app_context():
        states = {s.span: s for s in db.session.scalars(select(TrendingLiveState))}
        with db.engine.connect() as conn:  # rolled back: only read what a rebuild would write
            fresh = {}
            for window, state in states.items():
                since = state.cursor
                for statement in trending_live.rebuild_sql(
                    db.engine.dialect.name, since + timedelta(days=WINDOWS[window])
                ):
                    conn.execute(text(statement))
                rows = conn.execute(text("SELECT span, paper_id, score, readers FROM trending_live"))
                epoch_shift = 2.0 ** (
                    (state.epoch - (since.date())).days / AGGREGATE_HALF_LIVES[window]
                )  # the rebuild's epoch is its cursor's day
                fresh |= {(w, p): (s / epoch_shift, n) for w, p, s, n in rows if w == window}
    assert set(kept) == set(fresh)
    for key, (score, readers) in fresh.items():
        assert kept[key][1] == readers, key
        assert kept[key][0] == pytest.approx(score, rel=1e-9), key


def _histories_behind_the_cursor(app, client, accounts, *, seed: int, users: int, days: float) -> None:
    """Histories of ``users`` new users, then every cursor set ``days`` back: much of the log is behind them."""
    rng = random.Random(seed)
    for user in [accounts.new() for _ in range(users)]:
        _post_history(client, user, rng)
    _rebuild(app, datetime.now(UTC) - timedelta(days=days))


def test_the_live_weights_are_the_packaged_ones():
    packaged = {k: float(v) for k, v in default_config()["trending"]["event_weights"].items() if float(v) > 0}
    assert packaged == trending_live.LIVE_WEIGHTS


def test_live_totals_follow_ingest_reset_and_erasure(app, client, accounts):
    rng = random.Random(11)
    users = [accounts.new() for _ in range(4)]
    for user in users:
        _post_history(client, user, rng)
    _post_history(client, users[0], rng)  # a second batch: readers already counted stay counted once
    _assert_live_is_the_log(app)
    _assert_stored_is_the_log_summed(app)

    assert client.post(f"{API}/me/reset", headers=users[1]["headers"]).status_code == 200
    _assert_live_is_the_log(app)
    _assert_stored_is_the_log_summed(app)

    assert client.delete(f"{API}/me", headers=users[2]["headers"]).status_code == 204
    _assert_live_is_the_log(app)
    _assert_stored_is_the_log_summed(app)


def test_the_window_moves_on_without_and_with_the_cursor(app, client, accounts, monkeypatch):
    _histories_behind_the_cursor(app, client, accounts, seed=12, users=3, days=5)
    for days_on in (0, 1.5, 3, 6.5):
        _assert_live_is_the_log(app, datetime.now(UTC) + timedelta(days=days_on))

    monkeypatch.setattr(trending_live, "ADVANCE_STEP", 7)  # several bounded steps
    now = datetime.now(UTC) + timedelta(days=2)
    with app.app_context():
        for window in AGGREGATE_HALF_LIVES:
            trending_live.advance_until(db.engine, window, now - timedelta(days=WINDOWS[window]))
        cursors = {s.span: s.cursor for s in db.session.scalars(select(TrendingLiveState))}
        oldest_read = db.session.scalar(select(TrendingLastRead.last_at).order_by(TrendingLastRead.last_at).limit(1))
    assert cursors == {w: now - timedelta(days=WINDOWS[w]) for w in AGGREGATE_HALF_LIVES}
    assert oldest_read is None or oldest_read >= min(cursors.values())  # the last reads no window needs are gone
    _assert_live_is_the_log(app, now)
    _assert_stored_is_the_log_summed(app)


def test_a_list_far_behind_moves_the_cursor_in_the_background(app, client, accounts, monkeypatch):
    _histories_behind_the_cursor(app, client, accounts, seed=13, users=2, days=3)
    monkeypatch.setattr(trending_live, "ADVANCE_AFTER", 0)
    started = []
    real = trending_live.advance_in_background
    monkeypatch.setattr(trending_live, "advance_in_background", lambda *a: started.append(real(*a)) or started[-1])
    with app.app_context():
        now = datetime.now(UTC)
        before = compute_trending(db.session, "7d", now=now)
        for thread in started:
            thread.join(30)
        db.session.rollback()  # a new snapshot: the thread committed on a connection of its own
        cursor = db.session.scalar(select(TrendingLiveState.cursor).where(TrendingLiveState.span == "7d"))
        after = compute_trending(db.session, "7d", now=now)
    assert started and cursor == now - timedelta(days=7)
    assert after.paper_ids.tolist() == before.paper_ids.tolist()
    assert after.scores == pytest.approx(before.scores, rel=1e-6)
    assert after.readers.tolist() == before.readers.tolist()


def test_the_epoch_is_moved_before_the_sums_grow_large(app, client, accounts, monkeypatch):
    _histories_behind_the_cursor(app, client, accounts, seed=14, users=2, days=4)
    monkeypatch.setattr(trending_live, "REBASE_AFTER", 0.0)
    now = datetime.now(UTC)
    with app.app_context():
        for window in AGGREGATE_HALF_LIVES:
            trending_live.advance_until(db.engine, window, now - timedelta(days=WINDOWS[window]))
        epochs = {s.span: s.epoch for s in db.session.scalars(select(TrendingLiveState))}
    assert epochs == {w: (now - timedelta(days=WINDOWS[w])).date() for w in AGGREGATE_HALF_LIVES}
    _assert_live_is_the_log(app, now)


def test_a_time_before_the_cursor_is_left_to_the_day_aggregate(app, client, accounts):
    user = accounts.new()
    client.post(f"{API}/events", json={"events": [event("save", KEYS[0], minutes_ago=60)]}, headers=user["headers"])
    with app.app_context():
        assert trending_live.live_reader_scores(db.engine, "7d", datetime.now(UTC) - timedelta(days=1), LIMIT) is None
        assert compute_trending(db.session, "7d", now=datetime.now(UTC) - timedelta(days=1)).paper_ids.size == 0


def test_the_migration_backfills_the_live_totals(app, client, accounts, database_url):
    from alembic import command

    from server.db import alembic_config, upgrade_database

    rng = random.Random(15)
    for user in [accounts.new() for _ in range(3)]:
        _post_history(client, user, rng)
    app.extensions["paperscout_db"].dispose()
    command.downgrade(alembic_config(database_url), "0008")
    upgrade_database(app)
    _assert_live_is_the_log(app)
    _assert_stored_is_the_log_summed(app)


def test_concurrent_ingest_and_cursor_moves_keep_the_totals_exact(app, accounts, monkeypatch):
    """Writers in threads (four users' batches on the same papers, and cursor moves) give the totals summing
    the log gives: no lost update, no event counted twice, no deadlock (PostgreSQL's locks, SQLite's turns)."""
    import threading

    _rebuild(app, datetime.now(UTC) - timedelta(days=4))  # events stay behind the cursor as the batches arrive
    monkeypatch.setattr(trending_live, "ADVANCE_STEP", 20)
    users = [accounts.new() for _ in range(4)]
    failures: list = []

    def post(user: dict, seed: int) -> None:
        rng, client = random.Random(seed), app.test_client()
        for _ in range(3):
            events = [event("save", rng.choice(KEYS[:4]), minutes_ago=rng.uniform(0, 6 * 24 * 60)) for _ in range(15)]
            response = client.post(f"{API}/events", json={"events": events}, headers=user["headers"])
            if response.status_code != 200:
                failures.append(response.get_data(as_text=True))

    def move() -> None:
        try:
            for hours in range(0, 72, 24):
                with app.app_context():
                    since = datetime.now(UTC) - timedelta(days=7, hours=-hours)
                    trending_live.advance_until(db.engine, "7d", since)
        except Exception as error:  # noqa: BLE001 - reported by the test, not lost in the thread
            failures.append(repr(error))

    threads = [threading.Thread(target=post, args=(u, i)) for i, u in enumerate(users)]
    threads.append(threading.Thread(target=move))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not failures
    _assert_stored_is_the_log_summed(app)
    _assert_live_is_the_log(app, datetime.now(UTC) + timedelta(days=3))
