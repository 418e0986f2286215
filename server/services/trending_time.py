"""Time and window facts shared by the trending aggregates (server/services/trending_days.py, trending_live.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

# window -> half-life in days of the sums stored (the recommender's packaged defaults; a test checks them)
AGGREGATE_HALF_LIVES = {"7d": 2.0, "30d": 7.0}

# (paper id, user id, type, occurred at)
Event = tuple[int, int, str, datetime]


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def utc(at: datetime) -> datetime:
    """Aware UTC (SQLite gives naive UTC back)."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


# The UTC day of ``occurred_at`` and microseconds since it began: SQLite keeps the column as naive UTC text
# 'YYYY-MM-DD HH:MM:SS.ffffff' (the models' UTCDateTime), PostgreSQL as timestamptz.
DAY_AND_MICROS = {
    "sqlite": (
        "substr(occurred_at, 1, 10)",
        "(CAST(substr(occurred_at, 12, 2) AS INTEGER) * 3600 + CAST(substr(occurred_at, 15, 2) AS INTEGER) * 60"
        " + CAST(substr(occurred_at, 18, 2) AS INTEGER)) * 1000000"
        " + CAST(substr(occurred_at || '.000000', 21, 6) AS INTEGER)",
    ),
    "postgresql": (
        "CAST(occurred_at AT TIME ZONE 'UTC' AS date)",
        "CAST(extract(epoch FROM CAST(occurred_at AT TIME ZONE 'UTC' AS time)) * 1000000 AS bigint)",
    ),
}
