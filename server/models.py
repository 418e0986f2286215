"""SQLAlchemy 2 ORM models. The interaction log is append-only; saves and dismissals hold current state."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    types,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# The types of the interaction log's events are defined once, in recommender/definitions.py (extension/lib/queue.js
# lists the same for the extension; tests/server/test_shared_definitions.py checks that both agree).
from recommender import CHOICE_EVENTS, EVENT_TYPES, TRACKING_EVENTS
from server.keys import MAX_KEY_LENGTH

__all__ = ["CHOICE_EVENTS", "EVENT_TYPES", "TRACKING_EVENTS"]


# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a real bigint for the large tables.
BigId = BigInteger().with_variant(Integer, "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_session_token() -> str:
    """A user's session secret: session cookies carry it instead of the user id, so rotating it ends them all."""
    return secrets.token_urlsafe(32)


# Where a paper's metadata came from. A client (an extension event, a save) may only fill empty fields of a
# paper whose metadata is not authoritative; an admin import or an upstream fetcher is authoritative.
PROVENANCE_CLIENT = "client"
PROVENANCE_IMPORT = "import"  # the admin import: API, CLI import-papers, load-demo
PROVENANCE_FETCH = "fetch"  # the upstream fetchers of server/ingest
AUTHORITATIVE_PROVENANCES = (PROVENANCE_IMPORT, PROVENANCE_FETCH)
PROVENANCES = (PROVENANCE_CLIENT, *AUTHORITATIVE_PROVENANCES)

# SQLite reuses the highest rowid after a delete unless the table says AUTOINCREMENT: ids of deleted users,
# tokens and interactions must never be handed out again.
NO_ID_REUSE = {"sqlite_autoincrement": True}


class UTCDateTime(types.TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    __table_args__ = NO_ID_REUSE

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True, nullable=False)
    password_hash: Mapped[str] = mapped_column(String(256), nullable=False)
    # flask-login's alternative id: logout, a password change and erasure replace it
    session_token: Mapped[str] = mapped_column(String(64), unique=True, nullable=False, default=new_session_token)
    is_admin: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    tracking_paused: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    # flask-login protocol
    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return self.session_token

    def rotate_session_token(self) -> None:
        """End every session cookie issued so far (bearer tokens are revoked separately)."""
        self.session_token = new_session_token()


class ApiToken(Base):
    __tablename__ = "api_tokens"
    __table_args__ = NO_ID_REUSE

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    prefix: Mapped[str] = mapped_column(String(12), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FeedToken(Base):
    """A user's feed token (one at most): feed URLs carry it instead of a session or an API token.

    The URL token is ``selector + verifier``; the verifier is derived from the selector with the server's
    secret (so the URLs can be shown again), and only the selector and a hash of the whole token are stored:
    the database alone gives no working feed URL. Rotating replaces the row's values; old URLs stop working.
    """

    __tablename__ = "feed_tokens"
    __table_args__ = NO_ID_REUSE

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True, nullable=False)
    selector: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class Paper(Base):
    __tablename__ = "papers"
    __table_args__ = (Index("ix_papers_primary_category_created", "primary_category", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), unique=True, nullable=False)
    title: Mapped[str] = mapped_column(Text, nullable=False, default="")
    abstract: Mapped[str] = mapped_column(Text, nullable=False, default="")
    authors: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    keywords: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    # canonical keys of the papers it cites ("references" is an SQL keyword, hence the column name)
    references: Mapped[list] = mapped_column("reference_keys", JSON, nullable=False, default=list)
    url: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)  # "new for you" looks back by it
    source: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    provenance: Mapped[str] = mapped_column(String(20), nullable=False, default=PROVENANCE_CLIENT)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    # Written by the ingesters (server/ingest), empty for papers only clients described.
    arxiv_version: Mapped[int | None] = mapped_column(Integer)  # the latest version seen (2 for v2)
    version_date: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when that version appeared
    primary_category: Mapped[str | None] = mapped_column(String(40))  # also first in ``keywords``
    announced_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)  # first announcement (daily feed)
    github_repo: Mapped[str | None] = mapped_column(Text)  # Hugging Face's githubRepo
    ai_keywords: Mapped[list | None] = mapped_column(JSON(none_as_null=True))  # Hugging Face's ai_keywords


class Interaction(Base):
    __tablename__ = "interactions"
    __table_args__ = (
        UniqueConstraint("user_id", "client_event_id", name="uq_interactions_user_event"),
        CheckConstraint(f"type IN {EVENT_TYPES!r}", name="ck_interactions_type"),
        Index("ix_interactions_user_time", "user_id", "occurred_at"),
        Index("ix_interactions_time", "occurred_at"),
        Index("ix_interactions_paper", "paper_id"),
        NO_ID_REUSE,
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), nullable=False)
    type: Mapped[str] = mapped_column(String(10), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    client_event_id: Mapped[str] = mapped_column(String(36), nullable=False)
    context: Mapped[dict | None] = mapped_column(JSON)


class TrendingDay(Base):
    """Per (UTC day, paper, event type): how many events, and per aggregated trending window the sum of
    ``2 ** (days since the day began / half-life)`` (server/services/trending_days.py), kept with the log."""

    __tablename__ = "trending_days"
    __table_args__ = {"sqlite_with_rowid": False}  # the primary key is the table (range scans by day)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    paper_id: Mapped[int] = mapped_column(BigId, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    type: Mapped[str] = mapped_column(String(10), primary_key=True)
    events: Mapped[int] = mapped_column(Integer, nullable=False)
    decay_7d: Mapped[float] = mapped_column(Float, nullable=False)
    decay_30d: Mapped[float] = mapped_column(Float, nullable=False)


class TrendingLiveState(Base):
    """Per live trending window: the totals hold the counted events at or after ``cursor``, their decay sums
    relative to ``epoch`` (a UTC midnight), server/services/trending_live.py."""

    __tablename__ = "trending_live_state"

    span: Mapped[str] = mapped_column(String(8), primary_key=True)  # the window: 7d, 30d
    cursor: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    epoch: Mapped[date] = mapped_column(Date, nullable=False)


class TrendingLive(Base):
    """Per (window, paper): the sum of ``weight * 2 ** (days since the epoch / half-life)`` of its counted events
    at or after the window's cursor, and how many users have such an event (trending_live_state)."""

    __tablename__ = "trending_live"
    __table_args__ = (Index("ix_trending_live_score", "span", "score"), {"sqlite_with_rowid": False})

    span: Mapped[str] = mapped_column(String(8), primary_key=True)  # the window: 7d, 30d
    paper_id: Mapped[int] = mapped_column(BigId, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    score: Mapped[float] = mapped_column(Float, nullable=False)
    readers: Mapped[int] = mapped_column(Integer, nullable=False)


class TrendingLastRead(Base):
    """Per (paper, user): the time of the user's latest counted event on the paper, kept while it may still be
    inside a live window (the distinct readers of trending_live, kept exact as the windows move)."""

    __tablename__ = "trending_last_reads"
    __table_args__ = (
        Index("ix_trending_last_reads_time", "last_at"),
        Index("ix_trending_last_reads_user", "user_id"),
        {"sqlite_with_rowid": False},
    )

    paper_id: Mapped[int] = mapped_column(BigId, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class Save(Base):
    __tablename__ = "saves"
    __table_args__ = (Index("ix_saves_user_time", "user_id", "saved_at", "paper_id"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class Dismissal(Base):
    __tablename__ = "dismissals"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    dismissed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class UserTopic(Base):
    """An arXiv category a user picked (at sign-up or in settings): an explicit interest, kept apart from the
    interaction log so that no event is invented for it."""

    __tablename__ = "user_topics"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    category: Mapped[str] = mapped_column(String(40), primary_key=True)
    chosen_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class ModelVersion(Base):
    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    path: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    params: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    metrics: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    counts: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)


class UserErasure(Base):
    """An erased account's id (nothing else about it): serving models stop using that user's row."""

    __tablename__ = "user_erasures"
    __table_args__ = NO_ID_REUSE

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class IngestRun(Base):
    """One run of an ingest command: what it fetched and stored, and why it failed if it did."""

    __tablename__ = "ingest_runs"
    __table_args__ = (Index("ix_ingest_runs_source_started", "source", "started_at"), NO_ID_REUSE)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(20), nullable=False)
    params: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="running")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fetched: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    new: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    updated: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    failed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    error: Mapped[str | None] = mapped_column(Text)  # one line, for a failed run
    problems: Mapped[list] = mapped_column(JSON, nullable=False, default=list)  # the first skipped entries' reasons


class OaiHarvest(Base):
    """Where an OAI-PMH harvest of one set stands: the token to resume with, and how far it has got."""

    __tablename__ = "oai_harvests"

    set_spec: Mapped[str] = mapped_column(String(100), primary_key=True)
    metadata_prefix: Mapped[str] = mapped_column(String(20), nullable=False)
    from_date: Mapped[date | None] = mapped_column(Date)
    until_date: Mapped[date | None] = mapped_column(Date)
    resumption_token: Mapped[str | None] = mapped_column(Text)  # set while a harvest is unfinished
    cursor: Mapped[int | None] = mapped_column(Integer)
    complete_list_size: Mapped[int | None] = mapped_column(Integer)
    harvested_through: Mapped[date | None] = mapped_column(Date)  # the next harvest starts here
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class HfUpvote(Base):
    """A paper's upvotes on one day's Hugging Face daily papers page (a popularity signal decayed by day)."""

    __tablename__ = "hf_upvotes"
    __table_args__ = (Index("ix_hf_upvotes_day", "day"),)

    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    upvotes: Mapped[int] = mapped_column(Integer, nullable=False)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


DIGEST_FREQUENCIES = ("off", "daily", "weekly")
# A delivery is claimed ("sending") and committed before the SMTP conversation, and marked "sent" or "failed"
# after it; see server/digest/run.py for why a "sending" row is never sent again.
DIGEST_STATUSES = ("sending", "sent", "failed")


class DigestSetting(Base):
    """A user's digest email: how often, at which local hour, in which IANA time zone (no row: off)."""

    __tablename__ = "digest_settings"
    __table_args__ = (CheckConstraint(f"frequency IN {DIGEST_FREQUENCIES!r}", name="ck_digest_settings_frequency"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    frequency: Mapped[str] = mapped_column(String(10), nullable=False, default="off")
    hour: Mapped[int] = mapped_column(Integer, nullable=False, default=8)
    timezone: Mapped[str] = mapped_column(String(64), nullable=False, default="UTC")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class DigestDelivery(Base):
    """One digest of one period (a local day or ISO week) for one user: at most one row per period."""

    __tablename__ = "digest_deliveries"
    __table_args__ = (
        UniqueConstraint("user_id", "period", name="uq_digest_deliveries_user_period"),
        CheckConstraint(f"status IN {DIGEST_STATUSES!r}", name="ck_digest_deliveries_status"),
        Index("ix_digest_deliveries_user_until", "user_id", "until"),
        NO_ID_REUSE,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    period: Mapped[str] = mapped_column(String(16), nullable=False)  # "2026-12-02" or "2026-W49"
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="sending")
    since: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)  # papers created after this ...
    until: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)  # ... and up to this instant
    paper_keys: Mapped[list] = mapped_column(JSON, nullable=False, default=list)  # what the mail holds, in order
    message_id: Mapped[str] = mapped_column(String(200), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    error: Mapped[str | None] = mapped_column(Text)  # one line, for a failed attempt
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
