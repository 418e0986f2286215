"""Trending papers: time-decayed interaction counts over all users, cached briefly per process."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from recommender.trending import WINDOWS, trending
from server.models import Interaction, Paper

POSITIVE_TYPES = ("open", "click", "save")
WINDOW_LABELS = {"1d": "today", "7d": "this week", "30d": "this month"}
KEEP_TOP = 2000


@dataclass(frozen=True)
class TrendingList:
    window: str
    computed_at: float
    paper_ids: np.ndarray  # best first
    scores: np.ndarray
    readers: np.ndarray

    def readers_by_id(self) -> dict[int, int]:
        return dict(zip(self.paper_ids.tolist(), self.readers.tolist(), strict=True))


_cache: dict[tuple[str, str], TrendingList] = {}
_lock = threading.Lock()


def _hour_bucket(session: Session):
    if session.get_bind().dialect.name == "sqlite":
        return func.strftime("%Y-%m-%d %H:00:00", Interaction.occurred_at)
    return func.date_trunc("hour", Interaction.occurred_at)


def compute_trending(session: Session, window: str, now: datetime | None = None) -> TrendingList:
    now = now or datetime.now(UTC)
    since = now - timedelta(days=WINDOWS[window])
    bucket = _hour_bucket(session)
    # Hourly buckets keep the rows fetched proportional to active (paper, hour) pairs, not to events.
    rows = session.execute(
        select(Interaction.paper_id, Interaction.type, bucket, func.count())
        .where(Interaction.occurred_at >= since, Interaction.type.in_(POSITIVE_TYPES))
        .group_by(Interaction.paper_id, Interaction.type, bucket)
    ).all()
    if not rows:
        empty = np.zeros(0)
        return TrendingList(window, time.monotonic(), empty.astype(np.int64), empty, empty.astype(np.int64))
    paper_ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    types = np.array([r[1] for r in rows])
    stamps = np.fromiter((_epoch(r[2]) for r in rows), dtype=np.float64, count=len(rows))
    counts = np.fromiter((r[3] for r in rows), dtype=np.float64, count=len(rows))

    published = {
        int(pid): pub
        for pid, pub in session.execute(
            select(Paper.id, Paper.published_at).where(Paper.id.in_(np.unique(paper_ids).tolist()))
        ).all()
    }
    scored = trending(
        paper_ids,
        types,
        stamps,
        counts=counts,
        window=window,
        now=now,
        published_at={str(k): v for k, v in published.items()},
    )
    unique_ids = scored.keys.astype(np.int64)
    scores = scored.scores
    readers = dict(
        session.execute(
            select(Interaction.paper_id, func.count(func.distinct(Interaction.user_id)))
            .where(Interaction.occurred_at >= since, Interaction.type.in_(POSITIVE_TYPES))
            .group_by(Interaction.paper_id)
        ).all()
    )
    keep = scores[:KEEP_TOP] > 0
    ids = unique_ids[:KEEP_TOP][keep]
    return TrendingList(
        window,
        time.monotonic(),
        ids,
        scores[:KEEP_TOP][keep],
        np.array([readers.get(int(i), 0) for i in ids], dtype=np.int64),
    )


def _epoch(value: object) -> float:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def get_trending(session: Session, window: str, *, cache_key: str, max_age: float) -> TrendingList:
    """The trending list for a window, recomputed at most every ``max_age`` seconds per process."""
    key = (cache_key, window)
    cached = _cache.get(key)
    if cached is not None and time.monotonic() - cached.computed_at < max_age:
        return cached
    fresh = compute_trending(session, window)
    with _lock:
        _cache[key] = fresh
    return fresh


def reason_for(window: str, readers: int) -> str:
    noun = "reader" if readers == 1 else "readers"
    return f"Trending {WINDOW_LABELS[window]}: {readers} {noun}"
