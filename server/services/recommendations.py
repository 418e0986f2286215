"""Ranked lists: trending over all readers, a user's recommendations, and papers similar to one paper.

Each is a :class:`RankedList` of catalog papers with their scores, score components and reasons, plus the
requesting user's marks (saved, dismissed) on them; server/api turns it into the response. Recommendations
turn database rows into the recommender's inputs (the user's own log, their saves and dismissals, live
trending scores, the text of papers the model has not seen yet) and its answer back into papers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from itertools import zip_longest
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from recommender import COMPONENTS, HistoryEvent, PaperDoc, Recommendation
from server.models import TRACKING_EVENTS, Dismissal, Interaction, Paper, Save, User
from server.services import topics
from server.services.catalog import newest_papers, papers_by_id, papers_by_key, papers_in_window
from server.services.new_papers import NewPaperDocs, new_paper_reasons, paper_doc
from server.services.serving_model import LoadedModel, current_model, min_readers, trending_settings
from server.services.state import Marks, known_paper_keys, marks_for
from server.services.trending import WINDOW_LABELS, TrendingList, get_trending, reasons_for

HISTORY_LIMIT = 500
EXTRA_DOCS_LIMIT = 2000
TRENDING_CANDIDATES = 300
NO_MODEL_REASON = "Personal picks come once PaperScout has learned from what readers open and save"
NEW_DAYS = 7  # the period of "new for you" where the reader does not choose one (feeds, web app)


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
            float(trend.scores[i]),
            _trend_only(float(trend.scores[i] / top)),
            _trend_reasons(trend, i),
        )
        for i, pid in enumerate(trend.paper_ids[:limit])
        if int(pid) in papers
    ]
    return RankedList(items, window, "trending", marks_for(session, user_id, papers))


def _trend_reasons(trend: TrendingList, i: int) -> list[str]:
    return reasons_for(trend.window, int(trend.readers[i]), trend.upvotes_at(i), min_readers())


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


@dataclass(frozen=True)
class _Inputs:
    """What a personal list is computed from: the user's marks and log, what they know, live trending."""

    marked: _SavedAndDismissed
    history: list[HistoryEvent]
    exclude: set[str]  # every paper the user has opened, saved or dismissed: never listed
    trending: dict[str, float]  # key -> score, the top TRENDING_CANDIDATES
    readers: dict[str, int]  # key -> distinct readers in the window

    @classmethod
    def load(cls, session: Session, user: User, trend: TrendingList) -> _Inputs:
        marked = _SavedAndDismissed.load(session, user.id)
        history = _user_history(session, user.id)
        # Read from the whole log, not the HISTORY_LIMIT rows the model sees: a paper opened a minute ago, or
        # years ago, is known to the reader, whether or not the serving model has seen that event.
        exclude = marked.keys() | known_paper_keys(session, user.id)
        trending: dict[str, float] = {}
        readers: dict[str, int] = {}
        for key, score, count in zip(trend.keys[:TRENDING_CANDIDATES], trend.scores, trend.readers, strict=False):
            if key is not None:
                trending[key], readers[key] = float(score), int(count)
        return cls(marked, history, exclude, trending, readers)

    def positives(self) -> int:
        """How many papers of their own the reader has: saved ones and ones read."""
        return len(set(self.marked.saved.values()) | {e.key for e in self.history if e.type in TRACKING_EVENTS})


def recommend_for(session: Session, user: User, *, window: str, limit: int) -> RankedList:
    loaded = current_model()
    trend = _trending(session, window, loaded)
    chosen = topics.get_topics(session, user.id)
    if loaded is None:
        marked = _SavedAndDismissed.load(session, user.id)
        known = marked.keys() | known_paper_keys(session, user.id)
        items = _topic_fallback(session, chosen, trend, limit, known)
        taken = known | {i.paper.key for i in items}
        items += _trending_fallback(session, trend, limit - len(items), taken)
        return RankedList(_with_topic_reasons(items, chosen), window, "trending (no model yet)", marked.marks())

    inputs = _Inputs.load(session, user, trend)
    extra = _docs_the_model_lacks(session, loaded, inputs.history, inputs.trending)
    recs = _model_list(loaded, inputs, window, limit, extra)
    items = _ranked(session, recs)
    positives = inputs.positives()
    if chosen and positives < topics.FEW_POSITIVES:
        # Few papers of their own to go on: the reader's topics say more than the crowd does.
        candidates = topics.topic_candidate_keys(session, chosen, inputs.trending, exclude=inputs.exclude)
        extra = _with_docs(session, loaded, extra, candidates)
        topic_items = _ranked(session, _model_list(loaded, inputs, window, limit, extra, only=candidates))
        items = _blend(topic_items, items, topic_first=positives == 0)[:limit]
    if len(items) < limit:
        exclude = inputs.exclude | {i.paper.key for i in items}
        items += _newest_fill(session, exclude, limit - len(items), bool(inputs.history))
    return RankedList(_with_topic_reasons(items, chosen), window, f"model {loaded.version}", inputs.marked.marks())


def _model_list(
    loaded: LoadedModel,
    inputs: _Inputs,
    window: str,
    limit: int,
    extra: list[PaperDoc],
    only: list[str] | None = None,
) -> list[Recommendation]:
    return loaded.model.recommend(
        inputs.history,
        n=limit,
        trending=inputs.trending,
        trending_readers=inputs.readers,
        extra_docs=extra,
        exclude=inputs.exclude,
        window_label=WINDOW_LABELS[window],
        min_readers=min_readers(),
        only=only,
    )


def _with_docs(session: Session, loaded: LoadedModel, extra: list[PaperDoc], keys: list[str]) -> list[PaperDoc]:
    """``extra`` plus the texts of those of ``keys`` that neither the model nor ``extra`` knows."""
    known = {d.key for d in extra}
    unknown = [k for k in keys if k not in loaded.model and k not in known]
    return extra + [paper_doc(p) for p in papers_by_key(session, unknown).values()]


def _blend(first: list[RankedPaper], second: list[RankedPaper], *, topic_first: bool) -> list[RankedPaper]:
    """Topic papers and the model's list, each paper once: all topic papers first (a reader with nothing of
    their own yet), or taking turns (a reader with a little)."""
    if topic_first:
        merged = first + second
    else:
        merged = [item for pair in zip_longest(first, second) for item in pair if item is not None]
    seen: set[str] = set()
    out = []
    for item in merged:
        if item.paper.key not in seen:
            seen.add(item.paper.key)
            out.append(item)
    return out


def _with_topic_reasons(items: list[RankedPaper], chosen: list[str]) -> list[RankedPaper]:
    """Each paper of one of the reader's topics says so, first: the reader's own choice explains it best."""
    if not chosen:
        return items
    out = []
    for item in items:
        category = item.paper.primary_category
        reason = topics.topic_reason(category) if category in chosen else None
        if reason and reason not in item.reasons:
            item = replace(item, reasons=[reason, *item.reasons])
        out.append(item)
    return out


def _topic_fallback(
    session: Session, chosen: list[str], trend: TrendingList, limit: int, exclude: set[str]
) -> list[RankedPaper]:
    """No model yet: the trending papers of the reader's topics, then their newest."""
    if not chosen or limit <= 0:
        return []
    top = trend.scores[0] if len(trend.scores) else 1.0
    trending = papers_by_id(session, trend.paper_ids[:TRENDING_CANDIDATES].tolist())
    items = []
    for i, pid in enumerate(trend.paper_ids[:TRENDING_CANDIDATES]):
        paper = trending.get(int(pid))
        if paper is not None and paper.primary_category in chosen and paper.key not in exclude:
            score = float(trend.scores[i] / top)
            items.append(RankedPaper(paper, score, _trend_only(score), _trend_reasons(trend, i)))
    taken = exclude | {i.paper.key for i in items}
    for paper in topics.recent_topic_papers(session, chosen, exclude=taken, limit=limit):
        items.append(RankedPaper(paper, 0.0, _trend_only(0.0), ["New in the catalog"]))
    return items[:limit]


def recommend_new_for(session: Session, user: User, *, since: timedelta, window: str, limit: int) -> RankedList:
    """New for you: only papers published or announced within ``since``, ranked for the user."""
    window_papers = papers_in_window(session, datetime.now(UTC) - since)
    return rank_new_papers(session, user, window_papers, window=window, limit=limit)


def rank_new_papers(
    session: Session, user: User, candidates: dict[str, Paper], *, window: str, limit: int
) -> RankedList:
    """The user's best ``limit`` of ``candidates`` (key -> paper, newest first: the papers of a "new for you"
    window, or those new since a reader's last digest), each scored in full by the serving model; without a
    model, the newest of them. Papers the user has opened, saved or dismissed are not new to them and never
    listed (so none is its own reason). A reader with nothing of their own yet sees the papers of their
    topics first."""
    loaded = current_model()
    chosen = topics.get_topics(session, user.id)
    trend = _trending(session, window, loaded)
    inputs = _Inputs.load(session, user, trend)
    known = inputs.exclude | {e.key for e in inputs.history}
    window_papers = {k: p for k, p in candidates.items() if k not in known}
    if loaded is None:
        items = [
            RankedPaper(p, 0.0, _trend_only(0.0), [f"New · {_day(p)}", NO_MODEL_REASON])
            for p in _topics_first_papers(list(window_papers.values()), chosen, inputs.positives())[:limit]
        ]
        return RankedList(_with_topic_reasons(items, chosen), window, "newest (no model yet)", inputs.marked.marks())

    extra = {d.key: d for d in _docs_the_model_lacks(session, loaded, inputs.history, inputs.trending)}
    extra.update({k: paper_doc(p) for k, p in window_papers.items() if k not in loaded.model and k not in extra})
    # The model's order says little about a reader with nothing of their own; their topics say more: rank the
    # whole window, then put the topics' papers first.
    topics_first = bool(chosen) and inputs.positives() == 0
    recs = loaded.model.recommend(
        inputs.history,
        n=max(limit, len(window_papers)) if topics_first else limit,
        trending=inputs.trending,
        trending_readers=inputs.readers,
        extra_docs=list(extra.values()),
        exclude=known,
        window_label=WINDOW_LABELS[window],
        min_readers=min_readers(),
        only=list(window_papers),
    )
    items = [
        RankedPaper(window_papers[r.key], r.score, _components(r), new_paper_reasons(r.reasons))
        for r in recs
        if r.key in window_papers
    ]
    if topics_first:
        items.sort(key=lambda item: item.paper.primary_category not in chosen)  # stable: the model's order within
    return RankedList(
        _with_topic_reasons(items[:limit], chosen), window, f"model {loaded.version}", inputs.marked.marks()
    )


def _topics_first_papers(papers: list[Paper], chosen: list[str], positives: int) -> list[Paper]:
    """Without a model, a reader with nothing of their own sees the newest papers of their topics first."""
    if not chosen or positives:
        return papers
    return sorted(papers, key=lambda p: p.primary_category not in chosen)


def _day(paper: Paper) -> str:
    """When a new paper appeared, as its list says it: announced (the daily feed) or else published."""
    if paper.announced_at is not None:
        return f"announced {paper.announced_at:%Y-%m-%d}"
    return f"published {paper.published_at:%Y-%m-%d}" if paper.published_at else "new in the catalog"


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


def _trending_fallback(session: Session, trend: TrendingList, limit: int, exclude: set[str]) -> list[RankedPaper]:
    """No model trained yet: trending papers the user has not opened, saved or dismissed, saying so."""
    if limit <= 0:
        return []
    papers = papers_by_id(session, trend.paper_ids[: limit + len(exclude)].tolist())
    top = trend.scores[0] if len(trend.scores) else 1.0
    items: list[RankedPaper] = []
    for i, (pid, score) in enumerate(zip(trend.paper_ids, trend.scores, strict=True)):
        paper = papers.get(int(pid))
        if paper is None or paper.key in exclude:
            continue
        reasons = [*_trend_reasons(trend, i), NO_MODEL_REASON]
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
            _components(r),
            r.reasons,
        )
        for r in recs
        if r.key in papers
    ]


def _components(rec: Recommendation) -> dict[str, float]:
    return {c: round(float(rec.components.get(c, 0.0)), 6) for c in COMPONENTS}


def similar_papers(session: Session, paper: Paper, user_id: int | None, *, limit: int) -> RankedList:
    loaded = current_model()
    if loaded is None:
        return RankedList([], "", "no model yet", marks_for(session, user_id, []))
    doc = None if paper.key in loaded.model else paper_doc(paper)
    recs = loaded.model.similar(paper.key, n=limit, doc=doc, min_readers=min_readers())
    items = _ranked(session, recs)
    return RankedList(items, "", f"model {loaded.version}", marks_for(session, user_id, [i.paper.id for i in items]))
