"""The per-day trending aggregate, kept in step with the interaction log in the same transactions.

``trending_days`` holds per (UTC day, paper, event type) the event count and, per aggregated window, the sum of
``2 ** (days since the day began / half-life)``. A window's decayed score of a whole past day is then that sum
times ``0.5 ** (age of the day's start / half-life)``, the same number as summing each event's decay (up to
rounding), so trending reads one row per (paper, day, type) instead of one per event.

Distinct readers cannot be summed across days: this path counts them in the log, for the papers that made the
list only (the live totals, server/services/trending_live.py, keep them per paper; a per (paper, day, user) table
cost every event batch a scattered write per event for what only this fallback read).

The sums are for AGGREGATE_HALF_LIVES, the packaged defaults; a model trained with other half-lives is served by
the full computation over the log (server/services/trending.py).
"""

from __future__ import annotations

import contextlib
import functools
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, select, tuple_
from sqlalchemy.orm import Session

from server.models import Interaction, TrendingDay
from server.services import trending_live
from server.services.sql import chunks, dialect_of, insert_for, insert_on
from server.services.trending_time import AGGREGATE_HALF_LIVES, DAY_AND_MICROS, Event, day_start, utc

DECAY_COLUMNS = tuple(f"decay_{w}" for w in AGGREGATE_HALF_LIVES)


def _sums(events: Iterable[Event]) -> dict[tuple, list]:
    """(day, paper, type) -> [events, decay sums...]."""
    days: dict[tuple, list] = defaultdict(lambda: [0] + [0.0] * len(AGGREGATE_HALF_LIVES))
    for paper_id, _, kind, occurred_at in events:
        at = utc(occurred_at)
        day = at.date()
        offset = (at - day_start(day)).total_seconds() / 86400.0
        bucket = days[(day, paper_id, kind)]
        bucket[0] += 1
        for i, half_life in enumerate(AGGREGATE_HALF_LIVES.values()):
            bucket[1 + i] += 2.0 ** (offset / half_life)
    return days


def _day_rows(days: dict[tuple, list]) -> list[dict]:
    # sorted: concurrent writers take the rows' locks in one order (no deadlocks on PostgreSQL)
    return [
        {"day": day, "paper_id": paper_id, "type": kind, "events": v[0]}
        | {f"decay_{w}": v[1 + i] for i, w in enumerate(AGGREGATE_HALF_LIVES)}
        for (day, paper_id, kind), v in sorted(days.items())
    ]


def record_events(session: Session, events: Iterable[Event]) -> None:
    """Add newly stored events to the aggregates (call in the transaction that stores them)."""
    events = list(events)
    days = _sums(events)
    if not days:
        return
    trending_live.lock_for_ingest(session)  # first: the lock order of every aggregate writer
    upsert = _days_upsert(dialect_of(session))
    for part in chunks(_day_rows(days)):
        session.execute(upsert, part)
    trending_live.record(session, events)


@functools.cache
def _days_upsert(dialect: str) -> Any:
    table = TrendingDay.__table__  # Core statements: the ORM's bulk path costs more than the writes
    insert = insert_on(dialect, table)
    added = {name: table.c[name] + insert.excluded[name] for name in ("events", *DECAY_COLUMNS)}
    return insert.on_conflict_do_update(index_elements=["day", "paper_id", "type"], set_=added)


def insert_logged(session: Session, rows: list[dict]) -> None:
    """Bulk-insert interaction log rows (``Interaction`` columns) with their part of the aggregate: for writers
    that bypass the event ingest (benchmarks, imports of recorded histories, tests)."""
    session.execute(insert_for(session, Interaction.__table__), rows)
    record_events(session, ((r["paper_id"], r["user_id"], r["type"], r["occurred_at"]) for r in rows))


@contextlib.contextmanager
def rebuilt_for_user(session: Session, user_id: int) -> Iterator[None]:
    """Around a deletion of a user's events: afterwards, the days and papers they touched are summed again from
    what the log still holds."""
    trending_live.lock_for_rebuild(session)
    touched = {
        (paper_id, utc(at).date())
        for paper_id, at in session.execute(
            select(Interaction.paper_id, Interaction.occurred_at).where(Interaction.user_id == user_id)
        )
    }
    yield
    rebuild_days(session, touched)
    trending_live.rebuild_for_user(session, user_id, touched)


def rebuild_days(session: Session, touched: set[tuple[int, date]]) -> None:
    """Sum the (paper, day) buckets again from the log: exact after deletions (no subtracted floats)."""
    for part in chunks(sorted(touched)):
        keys = set(part)
        session.execute(delete(TrendingDay).where(tuple_(TrendingDay.paper_id, TrendingDay.day).in_(list(keys))))
        first, last = min(day for _, day in keys), max(day for _, day in keys)
        rows = session.execute(
            select(Interaction.paper_id, Interaction.user_id, Interaction.type, Interaction.occurred_at).where(
                Interaction.paper_id.in_({paper_id for paper_id, _ in keys}),
                Interaction.occurred_at >= day_start(first),
                Interaction.occurred_at < day_start(last) + timedelta(days=1),
            )
        )
        days = _sums(row for row in rows if (row[0], utc(row[3]).date()) in keys)
        if days:
            session.execute(insert_for(session, TrendingDay.__table__), _day_rows(days))


def rebuild_aggregate_sql(dialect: str) -> list[str]:
    """Statements that sum the whole log into ``trending_days`` again (replacing what it holds), in SQL: for bulk
    loads that write the log directly (scripts/bench_build.py). The same numbers as ``record_events``: the
    offset is computed as ``_sums`` does (microseconds, seconds, then days; ``2 ** (days / half-life)`` with
    the same C pow), up to the order of the float additions."""
    day, micros = DAY_AND_MICROS[dialect]
    # doubles throughout, as Python's floats (PostgreSQL's literals with a point would be numeric)
    offset = "(CAST(micros AS DOUBLE PRECISION) / CAST(1000000 AS DOUBLE PRECISION)) / CAST(86400 AS DOUBLE PRECISION)"
    decays = ", ".join(
        f"sum(power(CAST(2 AS DOUBLE PRECISION), {offset} / CAST({h!r} AS DOUBLE PRECISION)))"
        for h in AGGREGATE_HALF_LIVES.values()
    )
    return [
        "DELETE FROM trending_days",
        f"INSERT INTO trending_days (day, paper_id, type, events, {', '.join(DECAY_COLUMNS)})"
        f" SELECT day, paper_id, type, count(*), {decays}"
        f" FROM (SELECT {day} AS day, paper_id, type, {micros} AS micros FROM interactions) AS log"
        " GROUP BY day, paper_id, type ORDER BY day, paper_id, type",
    ]
