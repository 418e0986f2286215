from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from recommender.interactions import IdMap, build_matrix, to_epoch_seconds

NOW = datetime(2024, 6, 1, tzinfo=UTC)
W = {"open": 1.0, "click": 2.0, "save": 8.0}


def build(rows, **kw):
    users, items, types, times = zip(*rows, strict=True)
    kw.setdefault("weights", W)
    kw.setdefault("now", NOW)
    return build_matrix(users, items, types, np.asarray(times, dtype=object), **kw)


def cell(data, user, item):
    return float(data.matrix[data.users.get(user), data.items.get(item)])


def test_weights_add_up_and_users_are_rows():
    d = build([("u", "a", "open", NOW), ("u", "a", "click", NOW), ("u", "a", "save", NOW), ("v", "b", "open", NOW)])
    assert d.matrix.shape == (2, 2)
    assert cell(d, "u", "a") == pytest.approx(11.0)
    assert cell(d, "v", "b") == pytest.approx(1.0)
    assert d.saved.nnz == 1


def test_unsave_cancels_save_but_not_opens():
    t = NOW - timedelta(hours=2)
    d = build([("u", "a", "open", t), ("u", "a", "save", t), ("u", "a", "unsave", NOW)])
    assert cell(d, "u", "a") == pytest.approx(1.0)
    assert d.saved.nnz == 0
    d = build([("u", "a", "save", t), ("u", "a", "unsave", t + timedelta(minutes=1)), ("u", "a", "save", NOW)])
    assert cell(d, "u", "a") == pytest.approx(8.0)


def test_dismiss_is_never_positive_and_kept_separately():
    t = NOW - timedelta(hours=1)
    d = build([("u", "a", "open", t), ("u", "a", "dismiss", NOW), ("u", "b", "dismiss", NOW)])
    assert d.matrix.nnz == 0
    assert d.dismissed.nnz == 2
    d = build([("u", "a", "dismiss", t), ("u", "a", "undismiss", NOW)])
    assert d.dismissed.nnz == 0
    # A save after a dismissal is a change of mind: the save counts and the dismissal no longer does.
    d = build([("u", "a", "dismiss", t), ("u", "a", "save", NOW)])
    assert d.dismissed.nnz == 0 and cell(d, "u", "a") == pytest.approx(8.0)


def test_time_decay_halves_at_half_life():
    d = build([("u", "a", "save", NOW - timedelta(days=30)), ("u", "b", "save", NOW)], half_life_days=30)
    assert cell(d, "u", "a") == pytest.approx(4.0, rel=1e-5)
    assert cell(d, "u", "b") == pytest.approx(8.0, rel=1e-5)


def test_item_keys_fix_columns_and_unknown_items_are_counted():
    d = build([("u", "x", "open", NOW), ("u", "b", "open", NOW)], item_keys=["a", "b", "c"])
    assert d.matrix.shape == (1, 3)
    assert d.n_rows_unknown_item == 1
    assert d.matrix[0, 1] == pytest.approx(1.0)


def test_bad_input_raises_precise_errors():
    with pytest.raises(ValueError, match="unknown event type"):
        build([("u", "a", "like", NOW)])
    with pytest.raises(ValueError, match="same length"):
        build_matrix(["u"], ["a", "b"], ["open"], [NOW])
    with pytest.raises(ValueError, match="cannot carry a positive weight"):
        build([("u", "a", "open", NOW)], weights={"dismiss": 1.0})
    with pytest.raises(ValueError, match="not in user_keys"):
        build([("u", "a", "open", NOW)], user_keys=["v"])
    with pytest.raises(ValueError, match="unsupported timestamp"):
        to_epoch_seconds(["yesterday"])


def test_naive_datetimes_are_utc_and_datetime64_is_accepted():
    aware = to_epoch_seconds([datetime(2024, 1, 1, tzinfo=UTC)])
    naive = to_epoch_seconds([datetime(2024, 1, 1)])
    d64 = to_epoch_seconds(np.array(["2024-01-01T00:00:00"], dtype="datetime64[s]"))
    assert aware[0] == naive[0] == d64[0]


def test_idmap_lookup_small_and_bulk():
    keys = [f"k{i}" for i in range(500)]
    m = IdMap(keys)
    probe = ["k3", "nope", "k499"] * 40
    assert m.lookup(probe).tolist() == [3, -1, 499] * 40
    assert m.lookup(["k7", "zz"]).tolist() == [7, -1]
    with pytest.raises(ValueError, match="unique"):
        IdMap(["a", "a"])
