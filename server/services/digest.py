"""Digest email bookkeeping: each user's setting, who is due, which papers are new for them, and the one
delivery record per user and period that makes sending exactly-once (server/digest/run.py sends; docs/digest.md).

A period is the user's local day (daily) or ISO week (weekly) in their own time zone. A user is due once the
period's send time has passed (that day at ``hour``:00 local; for weekly, Monday of that week at that hour) and
the period has no delivery that was sent or is being sent.
"""

from __future__ import annotations

import functools
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.db import immediate_writes
from server.models import AUTHORITATIVE_PROVENANCES, DigestDelivery, DigestSetting, Paper, User, utcnow

DEFAULT_HOUR = 8
DEFAULT_TIMEZONE = "UTC"
PERIOD_LENGTH = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
# Papers older than this many periods are not news any more, however long the digest was off or failing.
MAX_LOOKBACK_PERIODS = 4
# The newest this many papers of the window are ranked; a week of arXiv's busiest categories stays below it.
MAX_CANDIDATES = 2000
# A failed delivery is tried again on later runs of the same period, this many times in all.
MAX_ATTEMPTS = 5
# Entering the catalog late is normal (arXiv's API lags its announcements); this much older is not news.
STALE_AFTER = timedelta(days=30)
DELIVERED = ("sending", "sent")  # a "sending" row may have reached the reader: never sent again


@functools.cache
def valid_timezones() -> frozenset[str]:
    """The IANA zone names this system knows (the system's tz database, else the tzdata package)."""
    return frozenset(zoneinfo.available_timezones())


@dataclass(frozen=True)
class Settings:
    frequency: str  # "off", "daily" or "weekly"
    hour: int  # 0-23, local
    timezone: str  # IANA name
    last_sent_at: datetime | None = None


def get_settings(session: Session, user_id: int) -> Settings:
    """The user's digest setting (off at 08:00 UTC until they choose), with when their last digest went out."""
    row = session.get(DigestSetting, user_id)
    last = session.scalar(
        select(DigestDelivery.sent_at)
        .where(DigestDelivery.user_id == user_id, DigestDelivery.status == "sent")
        .order_by(DigestDelivery.sent_at.desc())
        .limit(1)
    )
    if row is None:
        return Settings("off", DEFAULT_HOUR, DEFAULT_TIMEZONE, last)
    return Settings(row.frequency, row.hour, row.timezone, last)


def put_settings(
    session: Session, user_id: int, frequency: str, hour: int | None = None, timezone: str | None = None
) -> Settings:
    """Set the user's digest; an hour or zone left out keeps its value. The caller validated the values."""
    row = session.get(DigestSetting, user_id)
    if row is None:
        row = DigestSetting(user_id=user_id, hour=DEFAULT_HOUR, timezone=DEFAULT_TIMEZONE)
        session.add(row)
    row.frequency = frequency
    row.hour = row.hour if hour is None else hour
    row.timezone = row.timezone if timezone is None else timezone
    row.updated_at = utcnow()
    session.commit()
    return get_settings(session, user_id)


def unsubscribe(session: Session, user_id: int) -> bool:
    """Switch the user's digest off; False when it was off already (or the user does not exist)."""
    row = session.get(DigestSetting, user_id)
    if row is None or row.frequency == "off":
        return False
    row.frequency = "off"
    row.updated_at = utcnow()
    session.commit()
    return True


@dataclass(frozen=True)
class Period:
    key: str  # "2026-12-02" (a local day) or "2026-W49" (an ISO week)
    send_at: datetime  # when the period's digest may go out (UTC)
    length: timedelta


def current_period(frequency: str, hour: int, timezone: str, now: datetime) -> Period:
    """The user's current period at ``now``: their local day or ISO week, and its send time."""
    zone = zoneinfo.ZoneInfo(timezone)
    local = now.astimezone(zone)
    day = local.date()
    if frequency == "weekly":
        year, week, weekday = day.isocalendar()
        day -= timedelta(days=weekday - 1)
        key = f"{year}-W{week:02d}"
    else:
        key = day.isoformat()
    send_local = datetime(day.year, day.month, day.day, hour, tzinfo=zone)
    return Period(key, send_local.astimezone(UTC), PERIOD_LENGTH[frequency])


@dataclass(frozen=True)
class Due:
    user: User
    setting: DigestSetting
    period: Period


def due_users(session: Session, now: datetime) -> list[Due]:
    """Users whose period's send time has passed and whose period has no delivery sent or being sent, nor one
    that failed MAX_ATTEMPTS times; by user id."""
    rows = session.execute(
        select(User, DigestSetting)
        .join(DigestSetting, DigestSetting.user_id == User.id)
        .where(DigestSetting.frequency != "off")
        .order_by(User.id)
    ).all()
    candidates = []
    for user, setting in rows:
        period = current_period(setting.frequency, setting.hour, setting.timezone, now)
        if period.send_at <= now:
            candidates.append(Due(user, setting, period))
    if not candidates:
        return []
    taken = session.execute(
        select(DigestDelivery.user_id, DigestDelivery.period).where(
            DigestDelivery.period.in_({c.period.key for c in candidates}),
            (DigestDelivery.status.in_(DELIVERED)) | (DigestDelivery.attempts >= MAX_ATTEMPTS),
        )
    ).all()
    done = {(user_id, key) for user_id, key in taken}
    return [c for c in candidates if (c.user.id, c.period.key) not in done]


def window_start(session: Session, user_id: int, period: Period, now: datetime) -> datetime:
    """Papers newer than this are news for the user's digest at ``now``: those after the end of their last
    digest (sent, or possibly sent), else of the last period; never older than MAX_LOOKBACK_PERIODS periods."""
    last = session.scalar(
        select(DigestDelivery.until)
        .where(DigestDelivery.user_id == user_id, DigestDelivery.status.in_(DELIVERED))
        .order_by(DigestDelivery.until.desc())
        .limit(1)
    )
    floor = now - MAX_LOOKBACK_PERIODS * period.length
    return max(last, floor) if last is not None else now - period.length


def new_papers(session: Session, since: datetime, until: datetime) -> dict[str, Paper]:
    """Key -> paper for the papers that entered the catalog in (since, until], newest first: those with a title,
    and not old papers that only entered it now (a reader opened a paper of 2015): a dated paper must have
    appeared within STALE_AFTER before ``since``, an undated one must come from an import or an ingester."""
    appeared = func.coalesce(Paper.announced_at, Paper.published_at)
    recent = or_(
        appeared >= since - STALE_AFTER,
        and_(appeared.is_(None), Paper.provenance.in_(AUTHORITATIVE_PROVENANCES)),
    )
    rows = session.scalars(
        select(Paper)
        .where(Paper.created_at > since, Paper.created_at <= until, Paper.title != "", recent)
        .order_by(Paper.created_at.desc(), Paper.id.desc())
        .limit(MAX_CANDIDATES)
    )
    return {p.key: p for p in rows}


def claim(
    session: Session, due: Due, since: datetime, until: datetime, keys: list[str], message_id: str
) -> DigestDelivery | None:
    """Record the period's delivery as "sending" and commit, before any SMTP conversation; None when another
    run holds the period (a concurrent claim, or a delivery that failed and is being retried there)."""
    session.commit()  # end the ranking's read transaction: the claim takes SQLite's write lock up front
    with immediate_writes():
        return _claim(session, due.user.id, due.period.key, message_id, since, until, keys)


def _claim(
    session: Session, user_id: int, period: str, message_id: str, since: datetime, until: datetime, keys: list[str]
) -> DigestDelivery | None:
    values = {"since": since, "until": until, "paper_keys": keys, "status": "sending", "error": None}
    row = select(DigestDelivery).where(DigestDelivery.user_id == user_id, DigestDelivery.period == period)
    existing = session.scalar(row)
    if existing is None:
        delivery = DigestDelivery(user_id=user_id, period=period, message_id=message_id, attempts=1, **values)
        session.add(delivery)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            if session.scalar(row) is None:  # not the unique (user, period): a real failure
                raise
            return None  # another run inserted it first: that run sends it
        return delivery
    # A failed attempt: take it over only if it is still failed (a conditional update is the lock).
    taken = session.execute(
        update(DigestDelivery)
        .where(
            DigestDelivery.id == existing.id,
            DigestDelivery.status == "failed",
            DigestDelivery.attempts < MAX_ATTEMPTS,
        )
        .values(attempts=DigestDelivery.attempts + 1, **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    if taken != 1:
        return None
    session.refresh(existing)
    return existing


def mark_sent(session: Session, delivery: DigestDelivery, at: datetime) -> None:
    delivery.status, delivery.sent_at, delivery.error = "sent", at, None
    session.commit()


def mark_failed(session: Session, delivery: DigestDelivery, error: str) -> None:
    delivery.status, delivery.error = "failed", error[:1000]
    session.commit()
