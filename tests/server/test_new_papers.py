"""Papers created after the model: listed per request, full rows loaded only when new or changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, insert, update

from recommender import RECENTLY_ADDED_REASON
from server.db import db
from server.models import Paper
from server.services.new_papers import NewPaperDocs, new_paper_reasons

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _add(session, n: int, start: int, created: datetime) -> None:
    session.execute(
        insert(Paper),
        [
            {
                "key": f"arxiv:2411.{i:05d}",
                "title": f"Paper {i}",
                "abstract": f"Abstract {i}",
                "keywords": [f"kw{i}"],
                "created_at": created + timedelta(minutes=i),
                "updated_at": created + timedelta(minutes=i),
            }
            for i in range(start, start + n)
        ],
    )
    session.commit()


class StatementCounter:
    def __init__(self, engine) -> None:
        self.engine, self.n = engine, 0

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)

    def _count(self, _conn, _cursor, statement: str, *args) -> None:
        # SELECTs only: SQLite's BEGIN of a new transaction also goes through the cursor
        self.n += statement.lstrip().upper().startswith("SELECT")


def test_newest_papers_after_the_model_are_listed_and_only_changes_are_reloaded(app):
    cache = NewPaperDocs(limit=3)
    with app.app_context():
        s = db.session
        _add(s, 2, 0, T0 - timedelta(days=10))  # in the model already
        _add(s, 4, 10, T0 + timedelta(days=1))  # imported after the model
        docs = cache.get(s, T0)
        assert list(docs) == ["arxiv:2411.00013", "arxiv:2411.00012", "arxiv:2411.00011"]  # newest 3
        assert docs["arxiv:2411.00012"].title == "Paper 12"
        assert docs["arxiv:2411.00012"].keywords == ("kw12",)
        assert len(cache.get(s, None)) == 3  # no model instant: the newest papers of all

        engine = s.get_bind()
        cache.get(s, T0)
        with StatementCounter(engine) as counter:
            again = cache.get(s, T0)
        assert counter.n == 1  # the listing only: nothing new, nothing changed
        assert {k: d.title for k, d in again.items()} == {k: d.title for k, d in docs.items()}

        s.execute(
            update(Paper)
            .where(Paper.key == "arxiv:2411.00012")
            .values(title="Paper 12, revised", updated_at=T0 + timedelta(days=2))
        )
        s.commit()
        _add(s, 1, 20, T0 + timedelta(days=3))
        with StatementCounter(engine) as counter:
            changed = cache.get(s, T0)
        assert counter.n == 2  # the listing, then one query for the changed and the new paper
        assert list(changed) == ["arxiv:2411.00020", "arxiv:2411.00013", "arxiv:2411.00012"]
        assert changed["arxiv:2411.00012"].title == "Paper 12, revised"
        assert len(cache._docs) == 3  # papers that fell out of the listing are dropped


def test_limit_zero_lists_nothing_and_negative_limits_are_refused(app):
    with app.app_context():
        _add(db.session, 2, 0, T0 + timedelta(days=1))
        assert NewPaperDocs(limit=0).get(db.session, T0) == {}
    with pytest.raises(ValueError, match="limit must be >= 0"):
        NewPaperDocs(limit=-1)


def test_new_paper_reasons_read_as_new_and_name_the_users_paper():
    assert new_paper_reasons(["Similar to “Graph motifs”, which you saved", RECENTLY_ADDED_REASON]) == [
        "New · similar to “Graph motifs” you saved"
    ]
    assert new_paper_reasons(["Similar to “Graph motifs”"]) == ["New · similar to “Graph motifs” you saved"]
    assert new_paper_reasons(["Shares topics with “Graph motifs”, which you opened", "Trending today"]) == [
        "New · shares topics with “Graph motifs” you opened",
        "Trending today",
    ]
    assert new_paper_reasons(["Cited by “Graph motifs”"]) == ["New · cited by “Graph motifs” you saved"]
    assert new_paper_reasons(["New paper — save papers to personalise this list"]) == [
        "New · save papers to personalise this list"
    ]
    assert new_paper_reasons(["Related to papers in your reading history"]) == [
        "New · related to papers in your reading history"
    ]
    assert new_paper_reasons([RECENTLY_ADDED_REASON]) == ["New"]
