"""Trending papers: time-decayed interaction counts over all users, cached briefly per process.

The decayed sum is computed by the database (one grouped query returning only the best few thousand papers),
so a refresh costs one index range scan over the window instead of shipping every event to Python. The
formula is the one of the recommender's ``trending`` (a test checks that both agree), with the trending
settings of the model that serves (the packaged defaults before any model is trained), so a retrain with
other trending settings changes the lists. A list past its cache age is served while a background thread
recomputes it (stale-while-revalidate), so only a process's first request waits for the query.
"""

from __future__ import annotations

import functools
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import and_, case, distinct, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from recommender import WINDOW_LABELS, WINDOWS, default_config, freshness_boost, trending_reason
from server.models import HfUpvote, Interaction, Paper, TrendingDay
from server.services import trending_live
from server.services.background import run_once
from server.services.sql import chunks, dialect_of
from server.services.trending_time import AGGREGATE_HALF_LIVES, day_start

KEEP_TOP = 2000
# A stale list is served while it is refreshed in the background, but never one older than this many cache
# periods (e.g. when refreshes keep failing): then the request computes it itself.
STALE_LIMIT = 10


@dataclass(frozen=True)
class TrendingSettings:
    """The trending section of a recommender config, as the SQL reads it (hashable, comparable)."""

    event_weights: tuple[tuple[str, float], ...]  # only the event types that count (weight > 0)
    half_life_days: tuple[tuple[str, float], ...]  # per window
    freshness_half_life_days: float
    freshness_weight: float
    hf_upvote_weight: float  # Hugging Face upvotes' weight beside in-product readers (0: not counted)

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> TrendingSettings:
        """From the ``trending`` section of a recommender config (a model's ``config_.trending.to_dict()``)."""
        weights = {k: float(v) for k, v in section["event_weights"].items() if float(v) > 0}
        return cls(
            event_weights=tuple(weights.items()),
            half_life_days=tuple((k, float(v)) for k, v in section["half_life_days"].items()),
            freshness_half_life_days=float(section["freshness_half_life_days"]),
            freshness_weight=float(section["freshness_weight"]),
            hf_upvote_weight=float(section["hf_upvote_weight"]),
        )


@functools.cache
def packaged_settings() -> TrendingSettings:
    """The recommender's packaged defaults: what trending uses while no model has been trained."""
    return TrendingSettings.from_config(default_config()["trending"])


@dataclass(frozen=True)
class TrendingList:
    window: str
    computed_at: float
    paper_ids: np.ndarray  # best first
    scores: np.ndarray
    readers: np.ndarray  # distinct in-product readers in the window
    keys: tuple[str | None, ...] = ()  # the papers' keys, in the same order (None: a paper gone since)
    settings: TrendingSettings | None = None  # what it was computed with
    upvotes: np.ndarray | None = None  # Hugging Face upvotes of the latest listing in the window (0: none)

    def upvotes_at(self, i: int) -> int:
        return int(self.upvotes[i]) if self.upvotes is not None else 0


_cache: dict[tuple[str, str], TrendingList] = {}
_refreshing: set[tuple[str, str]] = set()
_lock = threading.Lock()


def _age_days(session: Session, now: datetime) -> Any:
    if dialect_of(session) == "sqlite":
        # SQLite keeps these columns as naive UTC text, which julianday() reads.
        stamp = now.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
        return func.julianday(literal(stamp)) - func.julianday(Interaction.occurred_at)
    return func.extract("epoch", literal(now) - Interaction.occurred_at) / 86400.0


def _reader_scores(
    session: Session, window: str, now: datetime, settings: TrendingSettings
) -> dict[int, tuple[float, int]]:
    """Paper id -> (decayed interest, distinct readers) over the window's interactions, the best few thousand:
    from the live totals or else the per-day aggregate when they were summed with this window's half-life (and,
    for the live totals, these event weights), else from the whole log."""
    half_life = dict(settings.half_life_days)[window]
    if trending_live.applies(window, half_life, dict(settings.event_weights)):
        engine = session.get_bind()
        live = trending_live.live_reader_scores(engine, window, now, 2 * KEEP_TOP)
        if live is not None:
            scores, behind = live
            if behind > trending_live.ADVANCE_AFTER:
                trending_live.advance_in_background(engine, window, now - timedelta(days=WINDOWS[window]))
            return scores
    if AGGREGATE_HALF_LIVES.get(window) == half_life:
        return aggregated_reader_scores(session, window, now, settings)
    return log_reader_scores(session, window, now, settings)


def log_reader_scores(
    session: Session, window: str, now: datetime, settings: TrendingSettings
) -> dict[int, tuple[float, int]]:
    """``_reader_scores`` over every event of the window in the log (one row per event)."""
    half_life = dict(settings.half_life_days)[window]
    since = now - timedelta(days=WINDOWS[window])
    weights = dict(settings.event_weights)
    weight = case(*((Interaction.type == k, v) for k, v in weights.items()), else_=0.0)
    decayed = func.sum(weight * func.power(0.5, _age_days(session, now) / half_life)).label("score")
    rows = session.execute(
        select(Interaction.paper_id, decayed, func.count(distinct(Interaction.user_id)))
        .where(Interaction.occurred_at >= since, Interaction.occurred_at <= now, Interaction.type.in_(list(weights)))
        .group_by(Interaction.paper_id)
        .order_by(decayed.desc(), Interaction.paper_id)
        .limit(2 * KEEP_TOP)
    ).all()
    return {int(pid): (float(score), int(readers)) for pid, score, readers in rows}


def aggregated_reader_scores(
    session: Session, window: str, now: datetime, settings: TrendingSettings
) -> dict[int, tuple[float, int]]:
    """As the full computation, with the whole days strictly inside the window read from ``trending_days`` and
    only the window's first (partial) day and today read from the log."""
    since = now - timedelta(days=WINDOWS[window])
    first_day, today = since.astimezone(UTC).date(), now.astimezone(UTC).date()
    weights = dict(settings.event_weights)
    half_life = dict(settings.half_life_days)[window]
    # the log's part: events of the first day from `since` on, and of today up to now
    in_edges = or_(
        and_(Interaction.occurred_at >= since, Interaction.occurred_at < day_start(first_day + timedelta(days=1))),
        and_(Interaction.occurred_at >= day_start(today), Interaction.occurred_at <= now),
    )
    counted = Interaction.type.in_(list(weights))
    weight = case(*((Interaction.type == k, v) for k, v in weights.items()), else_=0.0)
    edges = select(
        Interaction.paper_id.label("paper_id"),
        (weight * func.power(0.5, _age_days(session, now) / half_life)).label("score"),
    ).where(in_edges, counted)
    # the aggregate's part: one row per (paper, day, type), scaled by the decay of the day's start
    whole_days = [first_day + timedelta(days=i) for i in range(1, (today - first_day).days)]
    day_decay = {d: 0.5 ** ((now - day_start(d)).total_seconds() / 86400.0 / half_life) for d in whole_days}
    scores = edges
    if whole_days:
        day_weight = case(*((TrendingDay.type == k, v) for k, v in weights.items()), else_=0.0)
        days = select(
            TrendingDay.paper_id.label("paper_id"),
            (day_weight * getattr(TrendingDay, f"decay_{window}") * case(day_decay, value=TrendingDay.day)).label(
                "score"
            ),
        ).where(TrendingDay.day > first_day, TrendingDay.day < today, TrendingDay.type.in_(list(weights)))
        scores = union_all(edges, days)
    both = scores.subquery()
    total = func.sum(both.c.score).label("score")
    rows = session.execute(
        select(both.c.paper_id, total)
        .group_by(both.c.paper_id)
        .order_by(total.desc(), both.c.paper_id)
        .limit(2 * KEEP_TOP)
    ).all()
    readers = _distinct_readers(session, [int(pid) for pid, _ in rows], since, now, list(weights))
    return {int(pid): (float(score), readers.get(int(pid), 0)) for pid, score in rows}


def _distinct_readers(session: Session, ids: list[int], since: datetime, now: datetime, types: list) -> dict[int, int]:
    """Exact distinct readers of the listed papers over the window ``[since, now]``, counted in the log (by
    paper: the papers' index)."""
    out: dict[int, int] = {}
    for part in chunks(ids):
        counts = (
            select(Interaction.paper_id, func.count(distinct(Interaction.user_id)))
            .where(
                Interaction.paper_id.in_(part),
                Interaction.occurred_at >= since,
                Interaction.occurred_at <= now,
                Interaction.type.in_(types),
            )
            .group_by(Interaction.paper_id)
        )
        out.update((int(paper_id), int(n)) for paper_id, n in session.execute(counts))
    return out


def _upvote_scores(
    session: Session, window: str, now: datetime, settings: TrendingSettings
) -> dict[int, tuple[float, int]]:
    """Paper id -> (log-scaled upvotes decayed by the listing's age in days, the latest listing's upvotes) for
    the Hugging Face daily pages within the window. A paper listed on several days counts its best day once."""
    if settings.hf_upvote_weight <= 0:
        return {}
    today = now.astimezone(UTC).date()
    first = (now - timedelta(days=WINDOWS[window])).astimezone(UTC).date()
    half_life = dict(settings.half_life_days)[window]
    rows = session.execute(
        select(HfUpvote.paper_id, HfUpvote.day, HfUpvote.upvotes)
        .where(HfUpvote.day >= first, HfUpvote.day <= today, HfUpvote.upvotes > 0)
        .order_by(HfUpvote.day)
    ).all()
    out: dict[int, tuple[float, int]] = {}
    for pid, day, upvotes in rows:  # oldest day first: the latest listing's count is the one kept
        score = math.log1p(upvotes) * 0.5 ** ((today - day).days / half_life)
        out[int(pid)] = (max(score, out.get(int(pid), (0.0, 0))[0]), int(upvotes))
    return out


def compute_trending(
    session: Session, window: str, now: datetime | None = None, settings: TrendingSettings | None = None
) -> TrendingList:
    """The best ``KEEP_TOP`` papers of the window by decayed, freshness-boosted interest (``settings``: the
    packaged defaults when None): in-product readers plus ``hf_upvote_weight`` times Hugging Face upvotes."""
    now = now or datetime.now(UTC)
    settings = settings or packaged_settings()
    readers = _reader_scores(session, window, now, settings)
    upvoted = _upvote_scores(session, window, now, settings)
    ids = np.fromiter(sorted(readers.keys() | upvoted.keys()), dtype=np.int64)
    if not len(ids):
        empty = np.zeros(0)
        return TrendingList(
            window, time.monotonic(), empty.astype(np.int64), empty, empty.astype(np.int64), settings=settings
        )
    scores = np.array(
        [readers.get(i, (0.0, 0))[0] + settings.hf_upvote_weight * upvoted.get(i, (0.0, 0))[0] for i in ids.tolist()]
    )
    counts = np.array([readers.get(i, (0.0, 0))[1] for i in ids.tolist()], dtype=np.int64)
    upvotes = np.array([upvoted.get(i, (0.0, 0))[1] for i in ids.tolist()], dtype=np.int64)
    papers = {
        paper_id: (key, published)
        for paper_id, key, published in session.execute(
            select(Paper.id, Paper.key, Paper.published_at).where(Paper.id.in_(ids.tolist()))
        )
    }
    published = [papers.get(i, (None, None))[1] for i in ids.tolist()]
    pub = np.array([at.timestamp() if at else math.nan for at in published])
    scores = scores * freshness_boost(
        pub, now.timestamp(), settings.freshness_half_life_days, settings.freshness_weight
    )
    order = np.lexsort((ids, -scores))[:KEEP_TOP]
    keys = tuple(papers.get(i, (None, None))[0] for i in ids[order].tolist())
    return TrendingList(
        window, time.monotonic(), ids[order], scores[order], counts[order], keys, settings, upvotes[order]
    )


def get_trending(
    session: Session,
    window: str,
    *,
    cache_key: str,
    max_age: float,
    session_factory: Callable[[], Session] | None = None,
    settings: TrendingSettings | None = None,
) -> TrendingList:
    """The trending list for a window, recomputed at most every ``max_age`` seconds per process.

    With ``session_factory``, a cached list past ``max_age`` (but within ``STALE_LIMIT`` periods) is returned
    at once while a background thread recomputes it with a session of its own; without one, or with no usable
    cached list, the request computes it. ``max_age`` <= 0 computes every time. A list computed with other
    ``settings`` (the packaged defaults when None) is not usable: a new model brought new ones.
    """
    settings = settings or packaged_settings()
    key = (cache_key, window)
    cached = _cache.get(key)
    if cached is not None and max_age > 0 and cached.settings == settings:
        age = time.monotonic() - cached.computed_at
        if age < max_age:
            return cached
        if session_factory is not None and age < STALE_LIMIT * max_age:
            refresh_in_background(key, window, session_factory, settings)
            return cached
    fresh = compute_trending(session, window, settings=settings)
    with _lock:
        _cache[key] = fresh
    return fresh


def refresh_in_background(
    key: tuple[str, str],
    window: str,
    session_factory: Callable[[], Session],
    settings: TrendingSettings | None = None,
) -> threading.Thread | None:
    """Recompute one cached list in a daemon thread; None when a refresh of it is already running. If it fails,
    the stale list stays in place and the next request past its age tries again."""

    def refresh() -> None:
        with session_factory() as session:
            fresh = compute_trending(session, window, settings=settings)
        with _lock:
            _cache[key] = fresh

    failure = f"background refresh of the {window} trending list failed"
    return run_once(_refreshing, _lock, key, f"trending-refresh-{window}", refresh, failure)


def reasons_for(window: str, readers: int, upvotes: int, min_readers: int) -> list[str]:
    """Why a paper trends, naming each source: readers here (counted only when at least ``min_readers``
    distinct readers make it up) and Hugging Face upvotes (public counts, always shown)."""
    here = trending_reason(WINDOW_LABELS[window], readers, min_readers)
    if upvotes <= 0:
        return [here]
    hugging_face = f"Trending on Hugging Face: {upvotes} {'upvote' if upvotes == 1 else 'upvotes'}"
    if readers <= 0:
        return [hugging_face]
    # a counted crowd here says more about this install than upvotes elsewhere
    return [here, hugging_face] if readers >= min_readers else [hugging_face, here]
