"""Facts the recommender and the server share, each written once: event types, trending windows and how
reasons word them. The server imports these (server/models.py, server/schemas.py, server/services)."""

from __future__ import annotations

# The interaction log's event types. extension/lib/queue.js lists the same for the extension;
# tests/server/test_shared_definitions.py checks that both agree.
TRACKING_EVENTS = ("open", "click")  # reading a paper: dropped while a user's tracking is paused
CHOICE_EVENTS = ("save", "unsave", "dismiss")  # explicit choices: they change the saves and dismissals
EVENT_TYPES = TRACKING_EVENTS + CHOICE_EVENTS
# Not logged as an event (it only changes state), but a history may replay it: it lifts a dismissal.
UNDISMISS = "undismiss"
# Event types that end a positive signal; they can never carry a positive weight.
NEGATIVE_EVENTS = ("unsave", "dismiss", UNDISMISS)

# Trending windows: name -> length in days, and how a reason words each.
WINDOWS: dict[str, float] = {"1d": 1.0, "7d": 7.0, "30d": 30.0}
WINDOW_LABELS: dict[str, str] = {"1d": "today", "7d": "this week", "30d": "this month"}


def window_label(window: str) -> str:
    """How reasons word ``window`` ("this week"); an unknown window is worded by its name."""
    return WINDOW_LABELS.get(window, f"in the last {window}")


def trending_reason(label: str, readers: int, min_readers: int) -> str:
    """The trending reason for readers of this install in a window worded ``label``, with their count only when
    at least ``min_readers`` distinct readers make it up (k-anonymous reasons)."""
    if readers >= min_readers:
        return f"Trending here: {readers} reader{'s' if readers != 1 else ''} {label}"
    return f"Trending here {label}" if readers > 0 else f"Trending {label}"


# The reason of a paper that arrived after the last retrain (scored by its text alone).
RECENTLY_ADDED_REASON = "Recently added to the catalog"
