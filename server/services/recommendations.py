"""The one module through which the server uses the recommender library.

It keeps the current model in ``app.extensions``, notices a new ``current`` version cheaply and swaps it in
whole (requests already running keep the model object they started with), swaps in a copy without the rows of
users erased since (see :mod:`server.services.erasure`), and turns database rows into the
library's inputs: the user's own log, their saves and dismissals, live trending scores, and the text of
papers the model has not seen yet.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session
from threadpoolctl import threadpool_limits

from recommender import store
from recommender.hybrid import COMPONENTS, HistoryEvent, HybridRecommender, Recommendation
from server.api.serialize import paper_dicts_for_user, papers_by_id, papers_by_key
from server.models import Dismissal, Interaction, Paper, Save, User
from server.services import erasure
from server.services.new_papers import NewPaperDocs, paper_doc
from server.services.trending import WINDOW_LABELS, TrendingList, get_trending, reason_for

log = logging.getLogger(__name__)

HISTORY_LIMIT = 500
EXTRA_DOCS_LIMIT = 2000
TRENDING_CANDIDATES = 300
SEEN_LONG_AGO = timedelta(days=1)


@dataclass(frozen=True)
class LoadedModel:
    version: str
    model: HybridRecommender
    manifest: dict[str, Any]
    created_at: datetime | None
    erased_through: int = 0  # the model holds no row of a user erased up to this erasure id


class ModelHolder:
    """Holds the current model of one app; checks the ``current`` pointer and new erasures at most every few
    seconds. ``read_erasures(through)`` lists the erasures with ids above ``through``."""

    def __init__(self, root: Path, check_seconds: float, read_erasures: Callable[[int], erasure.Erasures]) -> None:
        self.root = root
        self.check_seconds = check_seconds
        self.read_erasures = read_erasures
        self._loaded: LoadedModel | None = None
        self._checked_at = float("-inf")
        self._lock = threading.Lock()

    def get(self) -> LoadedModel | None:
        if time.monotonic() - self._checked_at >= self.check_seconds:
            self._refresh(blocking=False)
        return self._loaded

    def reload(self) -> LoadedModel | None:
        """Check the pointer now instead of waiting for the next periodic check."""
        self._checked_at = float("-inf")
        return self.get()

    def sync(self) -> LoadedModel | None:
        """Check the pointer and erasures now, waiting for a check already running (after an erasure)."""
        self._refresh(blocking=True)
        return self._loaded

    def _refresh(self, *, blocking: bool) -> None:
        if not self._lock.acquire(blocking=blocking):
            return  # another thread is already loading; keep serving the model we have
        try:
            self._checked_at = time.monotonic()
            loaded = self._loaded
            version = store.current_version(self.root)
            if version is not None and (loaded is None or loaded.version != version):
                loaded = self._load(version)
            if loaded is not None:
                loaded = self._without_erased(loaded)
            # One assignment: requests read either the previous model object or this one, never a mix.
            self._loaded = loaded
        except Exception:
            # A broken or half-written version, or an unreadable erasure log, must never take serving down:
            # keep the previous model (and try again at the next check).
            log.exception("could not refresh the model from %s; keeping the previous one", self.root)
        finally:
            self._lock.release()

    def _load(self, version: str) -> LoadedModel:
        started = time.perf_counter()
        model = store.load(self.root / store.VERSIONS / version)
        manifest = model.manifest_
        created = manifest.get("created_at")
        log.info("loaded model %s in %.2fs", version, time.perf_counter() - started)
        return LoadedModel(
            version, model, manifest, datetime.fromisoformat(created) if created else None, model.erased_through_
        )

    def _without_erased(self, loaded: LoadedModel) -> LoadedModel:
        erased = self.read_erasures(loaded.erased_through)
        if not erased:
            return loaded
        model = loaded.model.without_users([user for _, user in erased])  # a new object when rows go
        log.info("model %s: erasures up to %d applied", loaded.version, erased[-1][0])
        return dataclasses.replace(loaded, model=model, erased_through=erased[-1][0])


def init_app(app: Any) -> None:
    # A request is a few small dense solves and products; BLAS worker threads only fight the other workers for
    # the cores (measured: a 256-factor fold-in took 95 ms with OpenBLAS's default threads, 4 ms with one).
    threadpool_limits(limits=int(app.config["BLAS_THREADS"]), user_api="blas")
    if int(app.config["PRIVACY_MIN_READERS"]) < 1:
        raise ValueError(f"PAPERSCOUT_PRIVACY_MIN_READERS must be >= 1, got {app.config['PRIVACY_MIN_READERS']!r}")
    app.extensions["paperscout_model"] = ModelHolder(
        Path(app.config["MODEL_DIR"]),
        float(app.config["MODEL_CHECK_SECONDS"]),
        erasure.reader(app.extensions["paperscout_db"].new_session),
    )
    app.extensions["paperscout_new_papers"] = NewPaperDocs(EXTRA_DOCS_LIMIT)


def reload_model() -> LoadedModel | None:
    return current_app.extensions["paperscout_model"].reload()


def current_model() -> LoadedModel | None:
    return current_app.extensions["paperscout_model"].get()


def apply_erasures() -> None:
    """After an erasure commits: this process's model drops the user's row now, and so does every kept version
    on disk (other processes follow at their next check). Failures are logged, not raised: the account is
    already gone, and the next check (or retrain) applies what is still pending."""
    holder: ModelHolder = current_app.extensions["paperscout_model"]
    holder.sync()
    try:
        erasure.purge_versions(holder.root, holder.read_erasures)
    except Exception:
        log.exception("could not purge erased users from the model versions in %s", holder.root)


def min_readers() -> int:
    """k: reasons never state a count of fewer than k distinct readers."""
    return int(current_app.config["PRIVACY_MIN_READERS"])


def _trending(session: Session, window: str) -> TrendingList:
    return get_trending(
        session,
        window,
        cache_key=current_app.config["DATABASE_URL"],
        max_age=float(current_app.config["TRENDING_CACHE_SECONDS"]),
        session_factory=current_app.extensions["paperscout_db"].new_session,
    )


def _items(session: Session, user_id: int | None, scored: list[tuple[int, float, dict, list[str]]]):
    papers = papers_by_id(session, [pid for pid, *_ in scored])
    present = [row for row in scored if row[0] in papers]
    dicts = paper_dicts_for_user(session, user_id, [papers[pid] for pid, *_ in present])
    return [
        {"paper": paper, "score": round(float(score), 6), "components": components, "reasons": reasons}
        for paper, (_, score, components, reasons) in zip(dicts, present, strict=True)
    ]


def trending_list(session: Session, window: str, limit: int, user_id: int | None) -> dict[str, Any]:
    trend = _trending(session, window)
    top = trend.scores[0] if len(trend.scores) else 1.0
    scored = [
        (
            int(pid),
            float(score),
            _trend_only(float(score / top)),
            [reason_for(window, int(r), min_readers())],
        )
        for pid, score, r in zip(trend.paper_ids[:limit], trend.scores[:limit], trend.readers[:limit], strict=True)
    ]
    return {"items": _items(session, user_id, scored), "window": window, "source": "trending"}


def _user_history(session: Session, user_id: int) -> tuple[list[HistoryEvent], dict[str, int]]:
    rows = session.execute(
        select(Paper.key, Paper.id, Interaction.type, Interaction.occurred_at)
        .join(Paper, Paper.id == Interaction.paper_id)
        .where(Interaction.user_id == user_id)
        .order_by(Interaction.occurred_at.desc(), Interaction.id.desc())
        .limit(HISTORY_LIMIT)
    ).all()
    rows.reverse()
    return [HistoryEvent(key, kind, at) for key, _, kind, at in rows], {key: pid for key, pid, _, _ in rows}


def _excluded_keys(session: Session, user_id: int) -> set[str]:
    saved = session.scalars(select(Paper.key).join(Save, Save.paper_id == Paper.id).where(Save.user_id == user_id))
    dismissed = session.scalars(
        select(Paper.key).join(Dismissal, Dismissal.paper_id == Paper.id).where(Dismissal.user_id == user_id)
    )
    return set(saved) | set(dismissed)


def recommend_for(session: Session, user: User, *, window: str, limit: int) -> dict[str, Any]:
    loaded = current_model()
    trend = _trending(session, window)
    exclude = _excluded_keys(session, user.id)
    if loaded is None:
        return _fallback(session, user.id, trend, window, limit, exclude)

    model = loaded.model
    history, _ = _user_history(session, user.id)
    # Papers read more than a day ago are known to the reader: recommending them again is noise.
    seen_before = datetime.now(UTC) - SEEN_LONG_AGO
    exclude |= {e.key for e in history if e.type in ("open", "click") and e.occurred_at < seen_before}
    # Papers the model has not seen: the user's own (for their text profile and reasons) and the newest
    # arrivals (so they can be recommended by text from the moment they exist).
    unknown_keys = {e.key for e in history if e.key not in model}
    newest = current_app.extensions["paperscout_new_papers"].get(session, loaded.created_at)
    extra = {k: doc for k, doc in newest.items() if k not in model}
    extra.update({k: paper_doc(p) for k, p in papers_by_key(session, unknown_keys - extra.keys()).items()})

    trend_ids = trend.paper_ids[:TRENDING_CANDIDATES].tolist()
    id_to_key = dict(session.execute(select(Paper.id, Paper.key).where(Paper.id.in_(trend_ids))).all())
    trending_scores = {
        id_to_key[pid]: float(s) for pid, s in zip(trend_ids, trend.scores, strict=False) if pid in id_to_key
    }
    readers = {id_to_key[pid]: int(r) for pid, r in zip(trend_ids, trend.readers, strict=False) if pid in id_to_key}
    # Full rows only for trending papers the model cannot vectorise itself.
    unknown_trending = {k for k in id_to_key.values() if k not in model and k not in extra}
    extra.update({k: paper_doc(p) for k, p in papers_by_key(session, unknown_trending).items()})

    recs = model.recommend(
        history,
        n=limit,
        trending=trending_scores,
        trending_readers=readers,
        extra_docs=list(extra.values()),
        exclude=exclude,
        window_label=WINDOW_LABELS[window],
        min_readers=min_readers(),
    )
    scored = _scored(session, recs)
    if len(scored) < limit:
        scored += _newest_fill(session, exclude | {r.key for r in recs}, limit - len(scored), bool(history))
    return {"items": _items(session, user.id, scored), "window": window, "source": f"model {loaded.version}"}


def _newest_fill(session: Session, exclude: set[str], n: int, has_history: bool) -> list:
    """Too few candidates (a young install): newest catalog papers, saying plainly why they are here."""
    reason = "New in the catalog" if has_history else "New in the catalog — save papers to personalise this list"
    rows = session.scalars(select(Paper).order_by(Paper.created_at.desc(), Paper.id.desc()).limit(n + len(exclude)))
    picked = [p for p in rows if p.key not in exclude][:n]
    return [(p.id, 0.0, _trend_only(0.0), [reason]) for p in picked]


def _fallback(
    session: Session, user_id: int, trend: TrendingList, window: str, limit: int, exclude: set[str]
) -> dict[str, Any]:
    """No model trained yet: trending papers the user has not saved or dismissed, saying so."""
    papers = papers_by_id(session, trend.paper_ids[: limit + len(exclude)].tolist())
    top = trend.scores[0] if len(trend.scores) else 1.0
    scored = []
    for pid, score, readers in zip(trend.paper_ids, trend.scores, trend.readers, strict=True):
        paper = papers.get(int(pid))
        if paper is None or paper.key in exclude:
            continue
        reasons = [reason_for(window, int(readers), min_readers()), "No personal model has been trained yet"]
        scored.append((int(pid), float(score / top), _trend_only(float(score / top)), reasons))
        if len(scored) >= limit:
            break
    return {"items": _items(session, user_id, scored), "window": window, "source": "trending (no model yet)"}


def _trend_only(trend: float) -> dict[str, float]:
    return {**dict.fromkeys(COMPONENTS, 0.0), "trend": trend}


def _scored(session: Session, recs: list[Recommendation]) -> list[tuple[int, float, dict, list[str]]]:
    """(paper id, score, components, reasons) for the library's recommendations, in order."""
    key_to_paper = papers_by_key(session, [r.key for r in recs])
    return [
        (
            key_to_paper[r.key].id,
            r.score,
            {c: round(float(r.components.get(c, 0.0)), 6) for c in COMPONENTS},
            r.reasons,
        )
        for r in recs
        if r.key in key_to_paper
    ]


def similar_papers(session: Session, paper: Paper, user_id: int | None, *, limit: int) -> dict[str, Any]:
    loaded = current_model()
    if loaded is None:
        return {"items": [], "window": "", "source": "no model yet"}
    doc = None if paper.key in loaded.model else paper_doc(paper)
    recs = loaded.model.similar(paper.key, n=limit, doc=doc, min_readers=min_readers())
    scored = _scored(session, recs)
    return {"items": _items(session, user_id, scored), "window": "", "source": f"model {loaded.version}"}
