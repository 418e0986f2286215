"""Ranked lists: trending over all readers, a user's recommendations, and papers similar to one paper.

Each is a :class:`RankedList` of catalog papers with their scores, score components and reasons, plus the
requesting user's marks (saved, dismissed) on them; server/api turns it into the response. Recommendations
turn database rows into the recommender's inputs (the user's own log, their saves and dismissals, live
trending scores, the text of papers the model has not seen yet) and its answer back into papers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from recommender import COMPONENTS, HistoryEvent, PaperDoc, Recommendation
from server.models import TRACKING_EVENTS, Dismissal, Interaction, Paper, Save, User
from server.services.catalog import newest_papers, papers_by_id, papers_by_key
from server.services.new_papers import NewPaperDocs, paper_doc
from server.services.serving_model import LoadedModel, current_model, min_readers, trending_settings
from server.services.state import Marks, marks_for
from server.services.trending import WINDOW_LABELS, TrendingList, get_trending, reason_for

HISTORY_LIMIT = 500
EXTRA_DOCS_LIMIT = 2000
TRENDING_CANDIDATES = 300
SEEN_LONG_AGO = timedelta(days=1)
NO_MODEL_REASON = "No personal model has been trained yet"


@dataclass(frozen=True)
class RankedPaper:
    paper: Paper
    score: float
    components: dict[str, float]  # each of the recommender's COMPONENTS
    reasons: list[str]


@dataclass(frozen=True)
class RankedList:
    items: list[RankedPaper]  # best first
    window: str  # the trending window it used ("" for similar papers)
    source: str  # what produced it: a model version, or a fallback
    marks: Marks | None  # the requesting user's saves and dismissals among the items (None: anonymous)


def init_app(app: Any) -> None:
    """The per-process cache of papers newer than the model (see server/services/new_papers.py)."""
    app.extensions["paperscout_new_papers"] = NewPaperDocs(EXTRA_DOCS_LIMIT)


def _trending(session: Session, window: str, loaded: LoadedModel | None) -> TrendingList:
    return get_trending(
        session,
        window,
        cache_key=current_app.config["DATABASE_URL"],
        max_age=float(current_app.config["TRENDING_CACHE_SECONDS"]),
        session_factory=current_app.extensions["paperscout_db"].new_session,
        settings=trending_settings(loaded),
    )


def _trend_only(trend: float) -> dict[str, float]:
    return {**dict.fromkeys(COMPONENTS, 0.0), "trend": trend}


def trending_list(session: Session, window: str, limit: int, user_id: int | None) -> RankedList:
    trend = _trending(session, window, current_model())
    top = trend.scores[0] if len(trend.scores) else 1.0
    papers = papers_by_id(session, trend.paper_ids[:limit].tolist())
    items = [
        RankedPaper(
            papers[int(pid)],
            float(score),
            _trend_only(float(score / top)),
            [reason_for(window, int(readers), min_readers())],
        )
        for pid, score, readers in zip(
            trend.paper_ids[:limit], trend.scores[:limit], trend.readers[:limit], strict=True
        )
        if int(pid) in papers
    ]
    return RankedList(items, window, "trending", marks_for(session, user_id, papers))


@dataclass(frozen=True)
class _SavedAndDismissed:
    """The user's saves and dismissals: never recommended, and the marks of the list."""

    saved: dict[int, str]  # paper id -> key
    dismissed: dict[int, str]

    @classmethod
    def load(cls, session: Session, user_id: int) -> _SavedAndDismissed:
        saved = session.execute(
            select(Paper.id, Paper.key).join(Save, Save.paper_id == Paper.id).where(Save.user_id == user_id)
        )
        dismissed = session.execute(
            select(Paper.id, Paper.key)
            .join(Dismissal, Dismissal.paper_id == Paper.id)
            .where(Dismissal.user_id == user_id)
        )
        return cls(dict(saved.all()), dict(dismissed.all()))

    def keys(self) -> set[str]:
        return set(self.saved.values()) | set(self.dismissed.values())

    def marks(self) -> Marks:
        return Marks(frozenset(self.saved), frozenset(self.dismissed))


def _user_history(session: Session, user_id: int) -> list[HistoryEvent]:
    rows = session.execute(
        select(Paper.key, Interaction.type, Interaction.occurred_at)
        .join(Paper, Paper.id == Interaction.paper_id)
        .where(Interaction.user_id == user_id)
        .order_by(Interaction.occurred_at.desc(), Interaction.id.desc())
        .limit(HISTORY_LIMIT)
    ).all()
    rows.reverse()
    return [HistoryEvent(key, kind, at) for key, kind, at in rows]


def recommend_for(session: Session, user: User, *, window: str, limit: int) -> RankedList:
    loaded = current_model()
    trend = _trending(session, window, loaded)
    marked = _SavedAndDismissed.load(session, user.id)
    exclude = marked.keys()
    if loaded is None:
        items = _trending_fallback(session, trend, window, limit, exclude)
        return RankedList(items, window, "trending (no model yet)", marked.marks())

    history = _user_history(session, user.id)
    # Papers read more than a day ago are known to the reader: recommending them again is noise.
    seen_before = datetime.now(UTC) - SEEN_LONG_AGO
    exclude |= {e.key for e in history if e.type in TRACKING_EVENTS and e.occurred_at < seen_before}
    trending_scores: dict[str, float] = {}
    readers: dict[str, int] = {}
    for key, score, count in zip(trend.keys[:TRENDING_CANDIDATES], trend.scores, trend.readers, strict=False):
        if key is not None:
            trending_scores[key], readers[key] = float(score), int(count)
    recs = loaded.model.recommend(
        history,
        n=limit,
        trending=trending_scores,
        trending_readers=readers,
        extra_docs=_docs_the_model_lacks(session, loaded, history, trending_scores),
        exclude=exclude,
        window_label=WINDOW_LABELS[window],
        min_readers=min_readers(),
    )
    items = _ranked(session, recs)
    if len(items) < limit:
        items += _newest_fill(session, exclude | {r.key for r in recs}, limit - len(items), bool(history))
    return RankedList(items, window, f"model {loaded.version}", marked.marks())


def _docs_the_model_lacks(
    session: Session, loaded: LoadedModel, history: list[HistoryEvent], trending: dict[str, float]
) -> list[PaperDoc]:
    """Papers the model has not seen: the newest arrivals (recommendable by text from the moment they exist),
    the user's own (for their text profile and reasons), and trending ones (full rows only for these)."""
    model = loaded.model
    newest = current_app.extensions["paperscout_new_papers"].get(session, loaded.created_at)
    extra = {k: doc for k, doc in newest.items() if k not in model}
    for keys in ({e.key for e in history}, trending.keys()):
        unknown = {k for k in keys if k not in model and k not in extra}
        extra.update({k: paper_doc(p) for k, p in papers_by_key(session, unknown).items()})
    return list(extra.values())


def _newest_fill(session: Session, exclude: set[str], n: int, has_history: bool) -> list[RankedPaper]:
    """Too few candidates (a young install): newest catalog papers, saying plainly why they are here."""
    reason = "New in the catalog" if has_history else "New in the catalog — save papers to personalise this list"
    return [RankedPaper(p, 0.0, _trend_only(0.0), [reason]) for p in newest_papers(session, n, exclude)]


def _trending_fallback(
    session: Session, trend: TrendingList, window: str, limit: int, exclude: set[str]
) -> list[RankedPaper]:
    """No model trained yet: trending papers the user has not saved or dismissed, saying so."""
    papers = papers_by_id(session, trend.paper_ids[: limit + len(exclude)].tolist())
    top = trend.scores[0] if len(trend.scores) else 1.0
    items: list[RankedPaper] = []
    for pid, score, readers in zip(trend.paper_ids, trend.scores, trend.readers, strict=True):
        paper = papers.get(int(pid))
        if paper is None or paper.key in exclude:
            continue
        reasons = [reason_for(window, int(readers), min_readers()), NO_MODEL_REASON]
        items.append(RankedPaper(paper, float(score / top), _trend_only(float(score / top)), reasons))
        if len(items) >= limit:
            break
    return items


def _ranked(session: Session, recs: list[Recommendation]) -> list[RankedPaper]:
    """The library's recommendations as catalog papers, in order."""
    papers = papers_by_key(session, [r.key for r in recs])
    return [
        RankedPaper(
            papers[r.key],
            r.score,
            {c: round(float(r.components.get(c, 0.0)), 6) for c in COMPONENTS},
            r.reasons,
        )
        for r in recs
        if r.key in papers
    ]


def similar_papers(session: Session, paper: Paper, user_id: int | None, *, limit: int) -> RankedList:
    loaded = current_model()
    if loaded is None:
        return RankedList([], "", "no model yet", marks_for(session, user_id, []))
    doc = None if paper.key in loaded.model else paper_doc(paper)
    recs = loaded.model.similar(paper.key, n=limit, doc=doc, min_readers=min_readers())
    items = _ranked(session, recs)
    return RankedList(items, "", f"model {loaded.version}", marks_for(session, user_id, [i.paper.id for i in items]))
