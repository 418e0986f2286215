"""Trending: time-decayed interaction counts over a window, with a freshness prior on publication date.

``score(item) = sum over events in the window of weight(type) * 0.5 ** (age / half_life)``
``          * (1 + freshness_weight * 0.5 ** (paper_age / freshness_half_life))``

Papers without a publication date get no freshness boost. Dismiss / unsave events carry no weight and do not
count as readers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from recommender.interactions import SECONDS_PER_DAY, decay, now_seconds, to_epoch_seconds

WINDOWS: dict[str, float] = {"1d": 1.0, "7d": 7.0, "30d": 30.0}
WINDOW_LABELS: dict[str, str] = {"1d": "today", "7d": "this week", "30d": "this month"}
DEFAULT_HALF_LIVES: dict[str, float] = {"1d": 0.25, "7d": 2.0, "30d": 7.0}
DEFAULT_EVENT_WEIGHTS: dict[str, float] = {"open": 1.0, "click": 1.0, "save": 3.0}


@dataclass(frozen=True)
class Trending:
    """Trending items of one window, sorted by descending score."""

    keys: np.ndarray
    scores: np.ndarray
    readers: np.ndarray
    window: str

    @property
    def label(self) -> str:
        return WINDOW_LABELS.get(self.window, f"in the last {self.window}")

    def as_dict(self, n: int | None = None) -> dict[str, float]:
        return {str(k): float(s) for k, s in zip(self.keys[:n], self.scores[:n], strict=True)}

    def readers_dict(self, n: int | None = None) -> dict[str, int]:
        return {str(k): int(r) for k, r in zip(self.keys[:n], self.readers[:n], strict=True)}


def window_days(window: str) -> float:
    if window not in WINDOWS:
        raise ValueError(f"unknown trending window {window!r}; expected one of {sorted(WINDOWS)}")
    return WINDOWS[window]


def trending(
    items: Sequence | np.ndarray,
    types: Sequence[str] | np.ndarray,
    timestamps: Sequence | np.ndarray,
    *,
    window: str = "7d",
    users: Sequence | np.ndarray | None = None,
    counts: Sequence[float] | np.ndarray | None = None,
    now: datetime | float | None = None,
    published_at: Mapping[str, datetime | None] | None = None,
    half_life_days: float | None = None,
    event_weights: Mapping[str, float] | None = None,
    freshness_half_life_days: float = 30.0,
    freshness_weight: float = 0.5,
    config: Mapping | None = None,
) -> Trending:
    """Score items (keys or indices) by decayed interaction counts within ``window`` before ``now``.

    ``users`` (parallel to ``items``) enables distinct-reader counts; without it ``readers`` counts events.
    ``counts`` (parallel to ``items``) says how many events each row stands for, so callers can pass rows
    pre-aggregated per (item, type, hour) instead of one row per event.
    ``config`` (the ``"trending"`` section of the recommender config) supplies defaults for the keyword
    arguments left at None.
    """
    days = window_days(window)
    cfg = dict(config or {})
    if half_life_days is None:
        half_life_days = dict(cfg.get("half_life_days", DEFAULT_HALF_LIVES)).get(window, DEFAULT_HALF_LIVES[window])
    if event_weights is None:
        event_weights = cfg.get("event_weights", DEFAULT_EVENT_WEIGHTS)
    if config is not None:
        freshness_half_life_days = cfg.get("freshness_half_life_days", freshness_half_life_days)
        freshness_weight = cfg.get("freshness_weight", freshness_weight)
    n = len(items)
    if (
        len(types) != n
        or len(timestamps) != n
        or (users is not None and len(users) != n)
        or (counts is not None and len(counts) != n)
    ):
        raise ValueError("items, types, timestamps (and users, counts) must have the same length")
    now_s = now_seconds(now)
    empty = Trending(np.zeros(0, dtype=object), np.zeros(0), np.zeros(0, dtype=np.int64), window)
    if n == 0:
        return empty
    ts = to_epoch_seconds(np.asarray(timestamps) if not isinstance(timestamps, np.ndarray) else timestamps)
    types_arr = np.asarray(types, dtype=object).astype(str)
    w = np.zeros(n, dtype=np.float64)
    for name, value in event_weights.items():
        w[types_arr == name] = float(value)
    in_window = (ts >= now_s - days * SECONDS_PER_DAY) & (ts <= now_s) & (w > 0)
    if not np.any(in_window):
        return empty
    item_arr = np.asarray(items)[in_window]
    if item_arr.dtype == object:
        item_arr = item_arr.astype(str)
    keys, inv = np.unique(item_arr, return_inverse=True)
    mult = np.ones(n) if counts is None else np.asarray(counts, dtype=np.float64)
    if np.any(mult < 0):
        raise ValueError("counts must be non-negative")
    contrib = w[in_window] * mult[in_window] * decay(ts[in_window], now_s, half_life_days)
    scores = np.bincount(inv, weights=contrib, minlength=len(keys))
    if users is not None:
        user_arr = np.asarray(users)[in_window]
        _, uinv = np.unique(user_arr.astype(str) if user_arr.dtype == object else user_arr, return_inverse=True)
        distinct = np.unique(inv.astype(np.int64) * (int(uinv.max()) + 1) + uinv)
        readers = np.bincount(distinct // (int(uinv.max()) + 1), minlength=len(keys))
    else:
        readers = np.bincount(inv, weights=mult[in_window], minlength=len(keys)).round()
    if published_at and freshness_weight:
        pub = np.array([_pub_seconds(published_at.get(str(k))) for k in keys], dtype=np.float64)
        scores = scores * freshness_boost(pub, now_s, freshness_half_life_days, freshness_weight)
    order = np.lexsort((keys, -scores))
    return Trending(keys[order], scores[order], readers[order].astype(np.int64), window)


def freshness_boost(published_seconds: np.ndarray, now: float, half_life_days: float, weight: float) -> np.ndarray:
    """``1 + weight * 0.5 ** (paper age / half-life)``; 1 for papers without a date (NaN)."""
    pub = np.asarray(published_seconds, dtype=np.float64)
    boost = np.ones(len(pub))
    has = np.isfinite(pub)
    boost[has] += float(weight) * decay(pub[has], now, half_life_days)
    return boost


def _pub_seconds(value: datetime | None) -> float:
    if value is None:
        return np.nan
    return float(to_epoch_seconds(np.asarray([value], dtype=object))[0])
