from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from recommender.trending import trending

NOW = datetime(2024, 6, 1, tzinfo=UTC)


def test_recent_and_saved_items_rank_higher_and_readers_are_distinct():
    rows = [
        ("a", "open", NOW - timedelta(hours=1), "u1"),
        ("a", "open", NOW - timedelta(hours=2), "u1"),
        ("a", "save", NOW - timedelta(hours=3), "u2"),
        ("b", "open", NOW - timedelta(days=5), "u3"),
        ("b", "open", NOW - timedelta(days=5), "u4"),
        ("c", "open", NOW - timedelta(days=20), "u5"),  # outside the 7d window
        ("d", "dismiss", NOW, "u6"),  # a dismissal is not interest
    ]
    items, types, times, users = zip(*rows, strict=True)
    t = trending(items, types, np.asarray(times, dtype=object), users=users, now=NOW, window="7d")
    assert t.keys.tolist() == ["a", "b"]
    assert t.readers_dict() == {"a": 2, "b": 2}
    assert t.scores[0] > t.scores[1] > 0
    assert t.label == "this week"
    t30 = trending(items, types, np.asarray(times, dtype=object), users=users, now=NOW, window="30d")
    assert "c" in t30.as_dict()


def test_freshness_prior_breaks_ties_towards_new_papers():
    items, types = ["old", "new"], ["open", "open"]
    times = np.asarray([NOW - timedelta(hours=1)] * 2, dtype=object)
    pub = {"old": NOW - timedelta(days=400), "new": NOW - timedelta(days=1)}
    t = trending(items, types, times, now=NOW, published_at=pub, freshness_weight=0.5)
    assert t.keys.tolist() == ["new", "old"]
    assert t.scores[0] == pytest.approx(t.scores[1] * 1.5, rel=0.05)


def test_integer_items_empty_input_and_bad_window():
    t = trending(np.array([3, 3, 1]), ["open"] * 3, np.full(3, NOW.timestamp() - 60), now=NOW, window="1d")
    assert t.keys.tolist() == [3, 1]
    assert len(trending([], [], [], now=NOW).keys) == 0
    with pytest.raises(ValueError, match="unknown trending window"):
        trending([], [], [], window="2w")
    with pytest.raises(ValueError, match="same length"):
        trending(["a"], [], [], now=NOW)


def test_config_section_supplies_defaults():
    from recommender.config import default_config

    cfg = default_config()["trending"]
    cfg["event_weights"] = {"save": 1.0}  # opens no longer count
    times = np.asarray([NOW - timedelta(hours=1)] * 2, dtype=object)
    t = trending(["a", "b"], ["open", "save"], times, now=NOW, config=cfg)
    assert t.keys.tolist() == ["b"]


def test_counts_of_preaggregated_rows_equal_expanded_rows():
    now = 1_700_000_000.0
    items = np.array(["a", "a", "b"])
    types = np.array(["open", "save", "open"])
    stamps = np.array([now - 3600, now - 7200, now - 60])
    counts = np.array([3, 2, 1])
    aggregated = trending(items, types, stamps, counts=counts, now=now)
    expanded = trending(np.repeat(items, counts), np.repeat(types, counts), np.repeat(stamps, counts), now=now)
    assert list(aggregated.keys) == list(expanded.keys)
    np.testing.assert_allclose(aggregated.scores, expanded.scores)
    assert list(aggregated.readers) == list(expanded.readers) == [5, 1]
    with pytest.raises(ValueError):
        trending(items, types, stamps, counts=[1, 2], now=now)
