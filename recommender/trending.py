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

from recommender.config import defaults
from recommender.definitions import WINDOWS, window_label
from recommender.interactions import SECONDS_PER_DAY, decay, now_seconds, to_epoch_seconds


@dataclass(frozen=True)
class Trending:
    """Trending items of one window, sorted by descending score."""

    keys: np.ndarray
    scores: np.ndarray
    readers: np.ndarray
    window: str

    @property
    def label(self) -> str:
        return window_label(self.window)

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
    freshness_half_life_days: float | None = None,
    freshness_weight: float | None = None,
    config: Mapping | None = None,
) -> Trending:
    """Score items (keys or indices) by decayed interaction counts within ``window`` before ``now``.

    ``users`` (parallel to ``items``) enables distinct-reader counts; without it ``readers`` counts events.
    ``counts`` (parallel to ``items``) says how many events each row stands for, so callers can pass rows
    pre-aggregated per (item, type, hour) instead of one row per event.
    ``config`` (the ``"trending"`` section of the recommender config, the packaged one when omitted) supplies
    the keyword arguments left at None.
    """
    days = window_days(window)
    n = len(items)
    _check_lengths(n, types, timestamps, users, counts)
    packaged = defaults().trending.to_dict()
    cfg = {**packaged, **dict(config or {})}
    if half_life_days is None:
        half_life_days = {**packaged["half_life_days"], **dict(cfg["half_life_days"])}[window]
    weights = event_weights if event_weights is not None else cfg["event_weights"]
    now_s = now_seconds(now)
    empty = Trending(np.zeros(0, dtype=object), np.zeros(0), np.zeros(0, dtype=np.int64), window)
    if n == 0:
        return empty
    ts = to_epoch_seconds(np.asarray(timestamps) if not isinstance(timestamps, np.ndarray) else timestamps)
    w = _row_weights(types, weights)
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
    readers = _readers(inv, len(keys), None if users is None else np.asarray(users)[in_window], mult[in_window])
    if freshness_weight is None:
        freshness_weight = cfg["freshness_weight"]
    if freshness_half_life_days is None:
        freshness_half_life_days = cfg["freshness_half_life_days"]
    if published_at and freshness_weight:
        pub = np.array([_pub_seconds(published_at.get(str(k))) for k in keys], dtype=np.float64)
        scores = scores * freshness_boost(pub, now_s, freshness_half_life_days, freshness_weight)
    order = np.lexsort((keys, -scores))
    return Trending(keys[order], scores[order], readers[order].astype(np.int64), window)


def _row_weights(types: Sequence[str] | np.ndarray, weights: Mapping[str, float]) -> np.ndarray:
    """The weight of each row's event type (0 for types without one)."""
    types_arr = np.asarray(types, dtype=object).astype(str)
    w = np.zeros(len(types_arr), dtype=np.float64)
    for name, value in weights.items():
        w[types_arr == name] = float(value)
    return w


def _check_lengths(n: int, *columns: Sequence | np.ndarray | None) -> None:
    if any(column is not None and len(column) != n for column in columns):
        raise ValueError("items, types, timestamps (and users, counts) must have the same length")


def _readers(inv: np.ndarray, n_keys: int, users: np.ndarray | None, mult: np.ndarray) -> np.ndarray:
    """Distinct readers per key (``inv``: each row's key); without ``users``, the number of events."""
    if users is None:
        return np.bincount(inv, weights=mult, minlength=n_keys).round()
    _, uinv = np.unique(users.astype(str) if users.dtype == object else users, return_inverse=True)
    distinct = np.unique(inv.astype(np.int64) * (int(uinv.max()) + 1) + uinv)
    return np.bincount(distinct // (int(uinv.max()) + 1), minlength=n_keys)


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
