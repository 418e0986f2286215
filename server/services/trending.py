"""Trending papers: time-decayed interaction counts over all users, cached briefly per process.

The decayed sum is computed by the database (one grouped query returning only the best few thousand papers),
so a refresh costs one index range scan over the window instead of shipping every event to Python. The
formula is the one of ``recommender.trending.trending`` (a test checks that both agree).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import case, distinct, func, literal, select
from sqlalchemy.orm import Session

from recommender.config import load_config
from recommender.trending import WINDOWS, freshness_boost
from server.models import Interaction, Paper

WINDOW_LABELS = {"1d": "today", "7d": "this week", "30d": "this month"}
KEEP_TOP = 2000


@dataclass(frozen=True)
class TrendingList:
    window: str
    computed_at: float
    paper_ids: np.ndarray  # best first
    scores: np.ndarray
    readers: np.ndarray


_cache: dict[tuple[str, str], TrendingList] = {}
_lock = threading.Lock()
_config: dict[str, Any] = load_config()["trending"]


def _age_days(session: Session, now: datetime) -> Any:
    if session.get_bind().dialect.name == "sqlite":
        # SQLite keeps these columns as naive UTC text, which julianday() reads.
        stamp = now.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
        return func.julianday(literal(stamp)) - func.julianday(Interaction.occurred_at)
    return func.extract("epoch", literal(now) - Interaction.occurred_at) / 86400.0


def compute_trending(session: Session, window: str, now: datetime | None = None) -> TrendingList:
    now = now or datetime.now(UTC)
    since = now - timedelta(days=WINDOWS[window])
    weights = {k: float(v) for k, v in _config["event_weights"].items() if float(v) > 0}
    half_life = float(_config["half_life_days"][window])
    weight = case(*((Interaction.type == k, v) for k, v in weights.items()), else_=0.0)
    decayed = func.sum(weight * func.power(0.5, _age_days(session, now) / half_life)).label("score")
    rows = session.execute(
        select(Interaction.paper_id, decayed, func.count(distinct(Interaction.user_id)))
        .where(Interaction.occurred_at >= since, Interaction.occurred_at <= now, Interaction.type.in_(list(weights)))
        .group_by(Interaction.paper_id)
        .order_by(decayed.desc(), Interaction.paper_id)
        .limit(2 * KEEP_TOP)
    ).all()
    if not rows:
        empty = np.zeros(0)
        return TrendingList(window, time.monotonic(), empty.astype(np.int64), empty, empty.astype(np.int64))
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    scores = np.fromiter((r[1] for r in rows), dtype=np.float64, count=len(rows))
    readers = np.fromiter((r[2] for r in rows), dtype=np.int64, count=len(rows))
    published = dict(session.execute(select(Paper.id, Paper.published_at).where(Paper.id.in_(ids.tolist()))).all())
    pub = np.array([published[i].timestamp() if published.get(i) else math.nan for i in ids.tolist()])
    scores = scores * freshness_boost(
        pub, now.timestamp(), float(_config["freshness_half_life_days"]), float(_config["freshness_weight"])
    )
    order = np.lexsort((ids, -scores))[:KEEP_TOP]
    return TrendingList(window, time.monotonic(), ids[order], scores[order], readers[order])


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
