"""Interaction log rows -> user x item confidence matrix (users are rows).

Semantics, shared by training and request-time code so that both see the same picture of a user:

* ``open`` / ``click`` (and any other type with a weight) add ``weight * decay`` to the (user, item)
  confidence.
* ``save`` counts only while the paper is still saved: the last ``save``/``unsave`` event of the pair decides,
  and a current save adds ``weights["save"] * decay(time of that save)``.
* ``dismiss`` is never a positive signal. A pair is dismissed when the last of its ``dismiss`` /
  ``undismiss`` / ``save`` events is a ``dismiss``; a dismissed pair has no positive
  confidence and appears in ``dismissed``.
* decay is ``0.5 ** (age_days / half_life_days)``; ``half_life_days=None`` (or <= 0) disables it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import scipy.sparse as sp

from recommender.config import defaults
from recommender.config_checks import event_weights
from recommender.definitions import EVENT_TYPES, UNDISMISS

log = logging.getLogger(__name__)

# a history may replay an undismiss (it only changes state), so build_matrix knows it besides the logged types
KNOWN_TYPES = (*EVENT_TYPES, UNDISMISS)
SECONDS_PER_DAY = 86400.0


class IdMap:
    """Bidirectional map between external keys and contiguous indices ``0..n-1``."""

    def __init__(self, keys: Iterable[str]) -> None:
        self.keys = np.asarray(list(keys), dtype=object)
        self._index = {k: i for i, k in enumerate(self.keys.tolist())}
        if len(self._index) != len(self.keys):
            raise ValueError("IdMap keys must be unique")
        self._sorted: np.ndarray | None = None
        self._sorter: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.keys)

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def get(self, key: str, default: int = -1) -> int:
        return self._index.get(key, default)

    def lookup(self, keys: Sequence[str] | np.ndarray) -> np.ndarray:
        """Vectorised key -> index; unknown keys map to -1."""
        keys = np.asarray(keys, dtype=object)
        if len(keys) == 0 or len(self.keys) == 0:
            return np.full(len(keys), -1, dtype=np.int64)
        if len(keys) < 64:
            return np.fromiter((self._index.get(k, -1) for k in keys), dtype=np.int64, count=len(keys))
        if self._sorted is None:
            as_str = self.keys.astype(str)
            self._sorter = np.argsort(as_str, kind="stable")
            self._sorted = as_str[self._sorter]
        probe = keys.astype(str)
        pos = np.searchsorted(self._sorted, probe)
        pos_clipped = np.minimum(pos, len(self._sorted) - 1)
        found = self._sorted[pos_clipped] == probe
        return np.where(found, self._sorter[pos_clipped], -1).astype(np.int64)


@dataclass
class InteractionData:
    """Output of :func:`build_matrix`.

    ``matrix``: float32 CSR (n_users x n_items) positive confidences; ``saved``: CSR 0/1 pairs currently
    saved; ``dismissed``: CSR 0/1 pairs currently dismissed; ``users`` / ``items``: id maps
    for rows / columns.
    """

    matrix: sp.csr_matrix
    saved: sp.csr_matrix
    dismissed: sp.csr_matrix
    users: IdMap
    items: IdMap
    n_rows_in: int = 0
    n_rows_unknown_item: int = 0


def to_epoch_seconds(values: Iterable[datetime | float | np.datetime64] | np.ndarray) -> np.ndarray:
    """Timestamps (aware or naive-UTC datetimes, datetime64, or epoch seconds) -> float64 epoch seconds."""
    arr = values if isinstance(values, np.ndarray) else np.asarray(list(values), dtype=object)
    if arr.dtype.kind == "M":
        return arr.astype("datetime64[us]").astype(np.int64) / 1e6
    if arr.dtype.kind in "iuf":
        return arr.astype(np.float64)
    return np.fromiter((_one_epoch(v) for v in arr), dtype=np.float64, count=len(arr))


def _one_epoch(value: object) -> float:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            # The server stores UTC; a naive datetime is read as UTC rather than local time.
            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    if isinstance(value, np.datetime64):
        return float(value.astype("datetime64[us]").astype(np.int64)) / 1e6
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    raise ValueError(f"unsupported timestamp {value!r}: use datetime, numpy datetime64 or epoch seconds")


def now_seconds(now: datetime | float | None) -> float:
    if now is None:
        return datetime.now(UTC).timestamp()
    return float(to_epoch_seconds(np.asarray([now], dtype=object))[0])


def decay(timestamps: np.ndarray, now: float, half_life_days: float | None) -> np.ndarray:
    """Exponential time decay factor in (0, 1]; events in the future count as now."""
    if not half_life_days or half_life_days <= 0:
        return np.ones(len(timestamps), dtype=np.float64)
    age_days = np.maximum(now - timestamps, 0.0) / SECONDS_PER_DAY
    return np.power(0.5, age_days / float(half_life_days))


def _last_per_pair(pair: np.ndarray, ts: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Row indices (into the full arrays) of the latest masked event of each pair; ties -> later row."""
    rows = np.flatnonzero(mask)
    if len(rows) == 0:
        return rows
    order = np.lexsort((rows, ts[rows], pair[rows]))
    rows = rows[order]
    p = pair[rows]
    last = np.ones(len(rows), dtype=bool)
    last[:-1] = p[1:] != p[:-1]
    return rows[last]


def _index(values: np.ndarray, keys: Iterable[str] | None) -> tuple[IdMap, np.ndarray]:
    """Id map and row indices for ``values``: sorted unique values, or the given ``keys`` (-1 where unknown)."""
    if keys is not None:
        id_map = IdMap(keys)
        return id_map, id_map.lookup(values.astype(str) if len(values) else values)
    if not len(values):
        return IdMap([]), np.zeros(0, np.int64)
    if values.dtype.kind in "iu":
        # integer ids (the server's user ids): unique the numbers, then order them as their strings sort, which
        # gives the same map as the general path without a string per row
        unique, idx = np.unique(values, return_inverse=True)
        names = unique.astype(str)
        order = np.argsort(names, kind="stable")
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        return IdMap(names[order].tolist()), rank[idx.ravel()]
    unique, idx = np.unique(values.astype(str), return_inverse=True)
    return IdMap(unique.tolist()), idx.astype(np.int64)


def build_matrix(
    users: Sequence | np.ndarray,
    items: Sequence | np.ndarray,
    types: Sequence[str] | np.ndarray,
    timestamps: Sequence | np.ndarray,
    *,
    weights: Mapping[str, float] | None = None,
    half_life_days: float | None = None,
    now: datetime | float | None = None,
    user_keys: Iterable[str] | None = None,
    item_keys: Iterable[str] | None = None,
    items_are_indices: bool = False,
) -> InteractionData:
    """Build the user x item confidence matrix from parallel arrays of interaction rows, in bulk.

    ``weights`` defaults to the packaged config's ``events.weights``. ``user_keys`` / ``item_keys`` fix the row /
    column order (e.g. the paper catalog); rows whose item is not in ``item_keys`` are dropped and counted, rows
    whose user is not in ``user_keys`` raise. Without them the maps are built from the data (sorted unique keys).
    ``items_are_indices``: ``items`` are already rows of ``item_keys`` (integers, -1 for a paper not in it), as a
    reader of the database maps them in bulk; this saves a string lookup per row.
    """
    n = len(users)
    if not (len(items) == len(types) == len(timestamps) == n):
        raise ValueError(
            f"users, items, types and timestamps must have the same length, got "
            f"{n}, {len(items)}, {len(types)}, {len(timestamps)}"
        )
    weights = event_weights(defaults().events.weights if weights is None else weights)
    types_arr = _strings(types) if n else np.zeros(0, dtype=str)
    known_types = set(KNOWN_TYPES) | set(weights)
    bad = set(np.unique(types_arr).tolist()) - known_types
    if bad:
        raise ValueError(f"unknown event type(s) {sorted(bad)}; expected one of {sorted(known_types)}")
    ts = to_epoch_seconds(np.asarray(timestamps) if n else np.zeros(0))
    if n and not np.all(np.isfinite(ts)):
        raise ValueError("timestamps must be finite")

    user_map, uidx = _user_rows(users, user_keys)
    item_map, iidx = _item_columns(items, item_keys, items_are_indices)
    known = iidx >= 0
    n_unknown = int(n - np.count_nonzero(known))
    if n_unknown:
        log.info("dropping %d interaction rows whose paper is not in the catalog", n_unknown)
    shape = (len(user_map), len(item_map))
    rows = _Rows(uidx[known], iidx[known], types_arr[known], ts[known], shape)
    matrix, saved, dismissed = _current_state(rows, weights, decay(rows.ts, now_seconds(now), half_life_days))
    return InteractionData(
        matrix=matrix,
        saved=saved,
        dismissed=dismissed,
        users=user_map,
        items=item_map,
        n_rows_in=n,
        n_rows_unknown_item=n_unknown,
    )


def _user_rows(users: Sequence | np.ndarray, user_keys: Iterable[str] | None) -> tuple[IdMap, np.ndarray]:
    integers = isinstance(users, np.ndarray) and users.dtype.kind in "iu"
    user_arr = users if integers else np.asarray(users, dtype=object)
    user_map, uidx = _index(user_arr, user_keys)
    if np.any(uidx < 0):
        missing = user_arr[uidx < 0][:5].tolist()
        raise ValueError(f"{int(np.sum(uidx < 0))} rows have users not in user_keys, e.g. {missing}")
    return user_map, uidx


def _item_columns(
    items: Sequence | np.ndarray, item_keys: Iterable[str] | None, items_are_indices: bool
) -> tuple[IdMap, np.ndarray]:
    if not items_are_indices:
        return _index(np.asarray(items, dtype=object), item_keys)
    if item_keys is None:
        raise ValueError("items_are_indices needs item_keys")
    item_map = IdMap(item_keys)
    iidx = np.asarray(items, dtype=np.int64)
    return item_map, np.where(iidx < len(item_map), iidx, -1)


def _strings(values: Sequence[str] | np.ndarray) -> np.ndarray:
    """``values`` as a numpy string array (as given when it already is one)."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "U":
        return values
    return np.asarray(values, dtype=object).astype(str)


@dataclass
class _Rows:
    """The log rows about known papers: user and item indices, types, epoch seconds, and the matrix shape."""

    uidx: np.ndarray
    iidx: np.ndarray
    types: np.ndarray
    ts: np.ndarray
    shape: tuple[int, int]

    @property
    def pair(self) -> np.ndarray:
        return self.uidx * max(self.shape[1], 1) + self.iidx

    def matrix(self, rows: np.ndarray, values: np.ndarray) -> sp.csr_matrix:
        out = sp.csr_matrix((values, (self.uidx[rows], self.iidx[rows])), shape=self.shape)
        out.sum_duplicates()
        return out


def _current_state(
    rows: _Rows, weights: Mapping[str, float], dec: np.ndarray
) -> tuple[sp.csr_matrix, sp.csr_matrix, sp.csr_matrix]:
    """Confidence, current saves and current dismissals of every (user, item) pair (see the module docstring)."""
    types_arr, ts, pair = rows.types, rows.ts, rows.pair
    # Additive events: every type with a weight except save, whose contribution depends on its current state.
    w = np.zeros(len(ts), dtype=np.float64)
    for name, value in weights.items():
        if name != "save":
            w[types_arr == name] = value
    contrib = w * dec

    is_save = types_arr == "save"
    last_save_state = _last_per_pair(pair, ts, is_save | (types_arr == "unsave"))
    current_saves = last_save_state[is_save[last_save_state]]
    contrib[current_saves] += weights.get("save", 0.0) * dec[current_saves]

    last_dismiss_state = _last_per_pair(pair, ts, (types_arr == "dismiss") | (types_arr == UNDISMISS) | is_save)
    current_dismissals = last_dismiss_state[types_arr[last_dismiss_state] == "dismiss"]
    dismissed = rows.matrix(current_dismissals, np.ones(len(current_dismissals), np.float32))

    keep = contrib > 0
    if len(current_dismissals):
        keep &= ~np.isin(pair, pair[current_dismissals])
        current_saves = current_saves[~np.isin(pair[current_saves], pair[current_dismissals])]
    matrix = rows.matrix(np.flatnonzero(keep), contrib[keep].astype(np.float32))
    matrix.eliminate_zeros()
    saved = rows.matrix(current_saves, np.ones(len(current_saves), np.float32))
    saved.data[:] = 1.0
    return matrix, saved, dismissed
