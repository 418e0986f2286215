"""Trending totals kept live per window: an uncached list reads a few thousand index rows, whatever the log holds.

For each aggregated window (``AGGREGATE_HALF_LIVES``) and the packaged event weights (``LIVE_WEIGHTS``),
``trending_live`` holds per paper the sum of ``weight * 2 ** (days since the epoch / half-life)`` over its counted
events at or after the window's cursor (``trending_live_state``), and how many users have such an event. Times
``0.5 ** (days from the epoch to now / half-life)`` that sum is the paper's decayed score, so the order of the
papers does not depend on now and the best are the first rows of an index.

- Ingest adds every counted event at or after the cursor, in the transaction that stores it (``record``).
  ``trending_last_reads`` keeps each (paper, user)'s latest counted event, so a reader counts once.
- A list at ``now`` reads the best rows and corrects from the log only the papers that changed since the cursor:
  events that left the window (subtracted, and the readers whose latest event left) and events stamped after
  now (the schema takes up to a day ahead; those papers are summed from the log). A correction only lowers a
  score, so reading as many extra rows as there are corrected papers keeps the best ``limit`` exact.
- ``advance`` moves the cursor, a bounded number of events per write transaction, when a list found many
  events behind it: maintenance that keeps the corrections small; a list is exact without it.
- Erasure and reset sum the touched papers again from the log (``rebuild_for_user``).
"""

from __future__ import annotations

import functools
import threading
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from recommender import WINDOWS
from server.db import immediate_writes, plain_reads
from server.models import Interaction, TrendingLastRead, TrendingLive, TrendingLiveState
from server.services.background import run_once
from server.services.sql import chunks, dialect_of, insert_on, lock_per_key
from server.services.trending_time import AGGREGATE_HALF_LIVES, DAY_AND_MICROS, Event, day_start, utc

LIVE_WEIGHTS = {"open": 1.0, "click": 1.0, "save": 3.0}  # the packaged trending event weights (a test checks)
ADVANCE_AFTER = 1000  # events behind the cursor beyond which a list asks for the cursor to move
ADVANCE_STEP = 20000  # events expired per write transaction: SQLite's write lock stays short
REBASE_AFTER = 256.0  # half-lives from the epoch to the cursor before the sums are rescaled (far from overflow)
LIVE_LOCK = 3  # advisory lock namespace (PostgreSQL): one user's last reads

Totals = dict[tuple[str, int], list]  # (window, paper id) -> [score change, readers change]


def applies(window: str, half_life: float, weights: dict[str, float]) -> bool:
    """Whether the live totals were summed with this window's half-life and these event weights."""
    return AGGREGATE_HALF_LIVES.get(window) == half_life and weights == LIVE_WEIGHTS


def _contribution(kind: str, at: datetime, epoch: date, half_life: float) -> float:
    days = (utc(at) - day_start(epoch)).total_seconds() / 86400.0
    return LIVE_WEIGHTS[kind] * 2.0 ** (days / half_life)


def _lock_states(session: Session, mode: str) -> None:
    """PostgreSQL: ingest takes SHARE (ingests run together), moving a cursor or summing again EXCLUSIVE, so a
    cursor never moves between an ingest reading it and committing. SQLite writers already take turns."""
    if dialect_of(session) == "postgresql":
        session.execute(text(f"LOCK TABLE trending_live_state IN {mode} MODE"))


def _states(session: Session) -> dict[str, tuple[datetime, date]]:
    rows = session.execute(select(TrendingLiveState.span, TrendingLiveState.cursor, TrendingLiveState.epoch))
    return {span: (cursor, epoch) for span, cursor, epoch in rows if span in AGGREGATE_HALF_LIVES}


def lock_for_ingest(session: Session) -> None:
    """Call before an ingest's first aggregate write: the lock order that keeps writers free of deadlocks."""
    _lock_states(session, "SHARE")


def record(session: Session, events: Iterable[Event]) -> None:
    """Add newly stored events to the live totals (in their transaction, after ``lock_for_ingest``)."""
    counted = [(p, u, k, utc(at)) for p, u, k, at in events if k in LIVE_WEIGHTS]
    states = _states(session) if counted else {}
    if not states:
        return
    oldest = min(cursor for cursor, _ in states.values())
    latest: dict[tuple[int, int], datetime] = {}
    for paper_id, user_id, _, at in counted:
        if at >= oldest:  # an earlier read is in no window: its row would only wait to be pruned
            latest[(paper_id, user_id)] = max(at, latest.get((paper_id, user_id), at))
    for user_id in sorted({user_id for _, user_id in latest}):
        lock_per_key(session, LIVE_LOCK, user_id)
    before = _last_reads(session, sorted(latest))
    totals: Totals = defaultdict(lambda: [0.0, 0])
    for window, (cursor, epoch) in states.items():
        half_life = AGGREGATE_HALF_LIVES[window]
        for paper_id, _, kind, at in counted:
            if at >= cursor:
                totals[(window, paper_id)][0] += _contribution(kind, at, epoch, half_life)
        for (paper_id, user_id), at in latest.items():
            old = before.get((paper_id, user_id))
            if at >= cursor and (old is None or old < cursor):
                totals[(window, paper_id)][1] += 1
    _upsert_last_reads(session, latest)
    _add_totals(session, totals)


def _last_reads(session: Session, pairs: list[tuple[int, int]]) -> dict[tuple[int, int], datetime]:
    r = TrendingLastRead
    papers_of: dict[int, list[int]] = defaultdict(list)
    for paper_id, user_id in pairs:
        papers_of[user_id].append(paper_id)
    out: dict[tuple[int, int], datetime] = {}
    # per user, not a (paper, user) row-value IN: SQLite answers that by scanning the whole table
    for user_id, papers in papers_of.items():
        for part in chunks(papers):
            rows = session.execute(select(r.paper_id, r.last_at).where(r.user_id == user_id, r.paper_id.in_(part)))
            out.update(((paper_id, user_id), utc(at)) for paper_id, at in rows)
    return out


@functools.cache
def _last_reads_upsert(dialect: str) -> Any:
    table = TrendingLastRead.__table__
    stmt = insert_on(dialect, table)
    later = func.max if dialect == "sqlite" else func.greatest
    return stmt.on_conflict_do_update(
        index_elements=["paper_id", "user_id"], set_={"last_at": later(table.c.last_at, stmt.excluded.last_at)}
    )


def _upsert_last_reads(session: Session, latest: dict[tuple[int, int], datetime]) -> None:
    stmt = _last_reads_upsert(dialect_of(session))
    rows = [{"paper_id": p, "user_id": u, "last_at": at} for (p, u), at in sorted(latest.items())]
    for part in chunks(rows):
        session.execute(stmt, part)


@functools.cache
def _totals_upsert(dialect: str) -> Any:
    table = TrendingLive.__table__
    stmt = insert_on(dialect, table)
    return stmt.on_conflict_do_update(
        index_elements=["span", "paper_id"],
        set_={"score": table.c.score + stmt.excluded.score, "readers": table.c.readers + stmt.excluded.readers},
    )


def _add_totals(session: Session, totals: Totals) -> None:
    stmt = _totals_upsert(dialect_of(session))
    # sorted: concurrent writers take the rows' locks in one order
    rows = [{"span": w, "paper_id": p, "score": s, "readers": n} for (w, p), (s, n) in sorted(totals.items())]
    for part in chunks(rows):
        session.execute(stmt, part)


def advance(session: Session, window: str, since: datetime) -> bool:
    """Move the window's cursor towards ``since`` by at most ``ADVANCE_STEP`` events: subtract what left the
    window. Call in a write transaction, then commit. True when the cursor is at ``since`` (or past it)."""
    _lock_states(session, "EXCLUSIVE")
    states = _states(session)
    if window not in states or since <= states[window][0]:
        return True
    cursor, epoch = states[window]
    step_end = session.scalar(
        select(Interaction.occurred_at)
        .where(Interaction.occurred_at >= cursor)
        .order_by(Interaction.occurred_at)
        .offset(ADVANCE_STEP)
        .limit(1)
    )
    to = since if step_end is None or utc(step_end) >= since else utc(step_end)
    left, readers_left, _ = _behind(session, cursor, to, epoch, AGGREGATE_HALF_LIVES[window])
    totals: Totals = defaultdict(lambda: [0.0, 0])
    for paper_id, score in left.items():
        totals[(window, paper_id)][0] -= score
    for paper_id, n in readers_left.items():
        totals[(window, paper_id)][1] -= n
    _add_totals(session, totals)
    live = TrendingLive
    for part in chunks(sorted(left.keys() | readers_left.keys())):
        session.execute(delete(live).where(live.span == window, live.paper_id.in_(part), live.readers <= 0))
    epoch = _rebased(session, window, epoch, to)
    state = TrendingLiveState
    session.execute(update(state).where(state.span == window).values(cursor=to, epoch=epoch))
    oldest = min([to] + [c for w, (c, _) in states.items() if w != window])
    session.execute(delete(TrendingLastRead).where(TrendingLastRead.last_at < oldest))
    return to == since


def _rebased(session: Session, window: str, epoch: date, cursor: datetime) -> date:
    """Rescale the window's sums to a later epoch once the cursor is far from it: ``2 ** (days / half-life)``
    grows without bound as time passes."""
    half_life = AGGREGATE_HALF_LIVES[window]
    if (cursor.date() - epoch).days / half_life <= REBASE_AFTER:
        return epoch
    factor = 2.0 ** (-(cursor.date() - epoch).days / half_life)
    live = TrendingLive
    session.execute(update(live).where(live.span == window).values(score=live.score * factor))
    return cursor.date()


def _behind(
    session: Session, start: datetime, end: datetime, epoch: date, half_life: float
) -> tuple[dict[int, float], dict[int, int], int]:
    """What counted events in [start, end) added per paper, per paper the readers whose latest such event is in
    [start, end) (they read nothing since), and how many such events there are."""
    left: dict[int, float] = defaultdict(float)
    events = 0
    rows = session.execute(
        select(Interaction.paper_id, Interaction.type, Interaction.occurred_at).where(
            Interaction.occurred_at >= start, Interaction.occurred_at < end, Interaction.type.in_(list(LIVE_WEIGHTS))
        )
    )
    for paper_id, kind, at in rows:
        left[paper_id] += _contribution(kind, at, epoch, half_life)
        events += 1
    r = TrendingLastRead
    readers = session.execute(
        select(r.paper_id, func.count()).where(r.last_at >= start, r.last_at < end).group_by(r.paper_id)
    )
    return dict(left), {paper_id: int(n) for paper_id, n in readers}, events


def live_reader_scores(
    engine: Engine, window: str, now: datetime, limit: int
) -> tuple[dict[int, tuple[float, int]], int] | None:
    """Paper id -> (decayed score at ``now``, distinct readers) of the best ``limit`` papers of the window, and
    how many counted events lie behind the cursor; None when the live totals cannot say (not built, or ``now``
    is earlier than they hold). Reads one snapshot of its own, whatever the caller's transaction is doing."""
    with plain_reads(), Session(engine) as session:
        if engine.dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        state = _states(session).get(window)
        since = now - timedelta(days=WINDOWS[window])
        if state is None or since < state[0]:
            return None
        cursor, epoch = state
        half_life = AGGREGATE_HALF_LIVES[window]
        left, readers_left, behind = _behind(session, cursor, since, epoch, half_life)
        # no DISTINCT: SQLite would answer it by walking the whole log in paper order instead of the time range
        ahead = set(
            session.scalars(
                select(Interaction.paper_id).where(
                    Interaction.occurred_at > now, Interaction.type.in_(list(LIVE_WEIGHTS))
                )
            )
        )
        changed = left.keys() | readers_left.keys() | ahead
        live = TrendingLive
        rows = session.execute(
            select(live.paper_id, live.score, live.readers)
            .where(live.span == window)
            .order_by(live.score.desc())
            .limit(limit + len(changed))
        ).all()
        out = {
            paper_id: (score - left.get(paper_id, 0.0), readers - readers_left.get(paper_id, 0))
            for paper_id, score, readers in rows
            if paper_id not in ahead
        }
        out.update(_summed(session, ahead & {row[0] for row in rows}, since, now, epoch, half_life))
    scale = 2.0 ** (-(utc(now) - day_start(epoch)).total_seconds() / 86400.0 / half_life)
    best = sorted(((p, v) for p, v in out.items() if v[1] > 0), key=lambda item: (-item[1][0], item[0]))[:limit]
    return {paper_id: (score * scale, readers) for paper_id, (score, readers) in best}, behind


def _summed(
    session: Session, papers: set[int], since: datetime, until: datetime | None, epoch: date, half_life: float
) -> dict[int, tuple[float, int]]:
    """Score (relative to the epoch) and distinct readers of these papers' counted events from ``since`` on (up
    to ``until`` when given), from the log."""
    scores: dict[int, float] = defaultdict(float)
    users: dict[int, set[int]] = defaultdict(set)
    for part in chunks(sorted(papers)):
        where = [
            Interaction.paper_id.in_(part),
            Interaction.occurred_at >= since,
            Interaction.type.in_(list(LIVE_WEIGHTS)),
        ]
        if until is not None:
            where.append(Interaction.occurred_at <= until)
        rows = session.execute(
            select(Interaction.paper_id, Interaction.user_id, Interaction.type, Interaction.occurred_at).where(*where)
        )
        for paper_id, user_id, kind, at in rows:
            scores[paper_id] += _contribution(kind, at, epoch, half_life)
            users[paper_id].add(user_id)
    return {paper_id: (scores[paper_id], len(users[paper_id])) for paper_id in scores}


def rebuild_for_user(session: Session, user_id: int, touched: set[tuple[int, date]]) -> None:
    """After a user's events were deleted: the user's last reads again from what the log keeps, and the live
    totals of the papers their events touched (``touched``: (paper, UTC day)) summed again from the log. Take
    ``lock_for_rebuild`` before deleting."""
    states = _states(session)
    if not states:
        return
    oldest = min(cursor for cursor, _ in states.values())
    papers = {paper_id for paper_id, day in touched if day >= oldest.date()}
    r = TrendingLastRead
    session.execute(delete(r).where(r.user_id == user_id))
    kept = session.execute(
        select(Interaction.paper_id, func.max(Interaction.occurred_at))
        .where(
            Interaction.user_id == user_id,
            Interaction.occurred_at >= oldest,
            Interaction.type.in_(list(LIVE_WEIGHTS)),
        )
        .group_by(Interaction.paper_id)
    ).all()
    _upsert_last_reads(session, {(paper_id, user_id): utc(at) for paper_id, at in kept})
    live = TrendingLive
    for window, (cursor, epoch) in states.items():
        for part in chunks(sorted(papers)):
            session.execute(delete(live).where(live.span == window, live.paper_id.in_(part)))
        summed = _summed(session, papers, cursor, None, epoch, AGGREGATE_HALF_LIVES[window])
        rows = [{"span": window, "paper_id": p, "score": s, "readers": n} for p, (s, n) in sorted(summed.items())]
        for part in chunks(rows):
            session.execute(insert(live), part)


def lock_for_rebuild(session: Session) -> None:
    _lock_states(session, "EXCLUSIVE")


def rebuild_sql(dialect: str, now: datetime) -> list[str]:
    """Statements that sum the live totals again from the whole log, with every cursor at ``now`` minus its
    window (replacing what the tables hold): for the migration that creates them and for bulk loads that write
    the log directly (scripts/bench_build.py). The same numbers as ``record`` up to float rounding."""
    day, micros = DAY_AND_MICROS[dialect]
    weight = " ".join(f"WHEN '{kind}' THEN {w!r}" for kind, w in LIVE_WEIGHTS.items())
    kinds = ", ".join(f"'{kind}'" for kind in LIVE_WEIGHTS)
    sqlite = dialect == "sqlite"
    stamp_format = "%Y-%m-%d %H:%M:%S.%f" if sqlite else "%Y-%m-%d %H:%M:%S.%f+00:00"
    statements = ["DELETE FROM trending_live_state", "DELETE FROM trending_live", "DELETE FROM trending_last_reads"]
    cursors = {}
    for window, half_life in AGGREGATE_HALF_LIVES.items():
        cursor = utc(now) - timedelta(days=WINDOWS[window])
        stamp, epoch = cursor.strftime(stamp_format), cursor.date().isoformat()
        cursors[window] = stamp
        whole_days = f"(julianday({day}) - julianday('{epoch}'))"
        if not sqlite:
            whole_days = f"CAST({day} - DATE '{epoch}' AS DOUBLE PRECISION)"
        days = f"({whole_days} + CAST({micros} AS DOUBLE PRECISION) / CAST(86400000000 AS DOUBLE PRECISION))"
        statements += [
            f"INSERT INTO trending_live_state (span, cursor, epoch) VALUES ('{window}', '{stamp}', '{epoch}')",
            "INSERT INTO trending_live (span, paper_id, score, readers)"
            f" SELECT '{window}', paper_id,"
            f" sum(CASE type {weight} END * power(CAST(2 AS DOUBLE PRECISION), {days} / {half_life!r})),"
            " count(DISTINCT user_id)"
            f" FROM interactions WHERE occurred_at >= '{stamp}' AND type IN ({kinds}) GROUP BY paper_id",
        ]
    oldest = min(cursors.values())
    statements.append(
        "INSERT INTO trending_last_reads (paper_id, user_id, last_at)"
        " SELECT paper_id, user_id, max(occurred_at) FROM interactions"
        f" WHERE occurred_at >= '{oldest}' AND type IN ({kinds}) GROUP BY paper_id, user_id"
    )
    return statements


_advancing: set[tuple[int, str]] = set()
_advancing_lock = threading.Lock()


def advance_until(engine: Engine, window: str, since: datetime) -> None:
    """Move the window's cursor to ``since``, one bounded write transaction at a time."""
    done = False
    while not done:
        with immediate_writes(), Session(engine) as session:
            done = advance(session, window, since)
            session.commit()


def advance_in_background(engine: Engine, window: str, since: datetime) -> threading.Thread | None:
    """``advance_until`` in a daemon thread; None when this process is already moving that window's cursor. If
    it fails, the lists stay exact and the next one that finds many events behind tries again."""
    failure = f"moving the {window} trending cursor failed"
    work = functools.partial(advance_until, engine, window, since)
    return run_once(_advancing, _advancing_lock, (id(engine), window), f"trending-advance-{window}", work, failure)
