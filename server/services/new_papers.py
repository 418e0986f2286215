"""Papers imported after the model was trained, as the recommender's ``PaperDoc``s, kept per process.

Such papers are recommendable by text from the moment they exist, so every recommendation request passes the
newest of them to the model. Loading them as full rows on every request cost more than the ranking itself
(2,000 rows: about 45 ms of JSON and ORM work per request); here a request reads only the key and
``updated_at`` of each, and full rows only for papers that are new to this process or changed since.
"""

from __future__ import annotations

import re
import threading
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from recommender import RECENTLY_ADDED_REASON, PaperDoc
from server.models import Paper
from server.services.catalog import papers_by_key

PAPER_DOC_COLUMNS = (Paper.key, Paper.title, Paper.abstract, Paper.keywords, Paper.published_at, Paper.references)


def paper_doc(paper: Paper | Row[Any]) -> PaperDoc:
    """The recommender's view of a stored paper (an ORM object, or a row selecting the columns it reads:
    PAPER_DOC_COLUMNS)."""
    return PaperDoc(
        key=paper.key,
        title=paper.title or paper.key,
        abstract=paper.abstract or "",
        keywords=tuple(paper.keywords or ()),
        published_at=paper.published_at,
        references=tuple(paper.references or ()),
    )


class NewPaperDocs:
    """The newest ``limit`` papers created after a given instant, as ``PaperDoc``s (one instance per app)."""

    def __init__(self, limit: int) -> None:
        if limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit!r}")
        self.limit = limit
        self._docs: dict[str, tuple[datetime, PaperDoc]] = {}
        self._lock = threading.Lock()

    def get(self, session: Session, since: datetime | None) -> dict[str, PaperDoc]:
        """Key -> doc of the newest ``limit`` papers created after ``since`` (all papers if None), newest first."""
        query = select(Paper.key, Paper.updated_at).order_by(Paper.created_at.desc(), Paper.id.desc())
        if since is not None:
            query = query.where(Paper.created_at > since)
        listing = session.execute(query.limit(self.limit)).all()
        with self._lock:
            known = dict(self._docs)
        stale = [key for key, updated in listing if key not in known or known[key][0] != updated]
        known.update({key: (p.updated_at, paper_doc(p)) for key, p in papers_by_key(session, stale).items()})
        current = {key: known[key] for key, _ in listing if key in known}
        with self._lock:
            # only the current listing is kept, so the cache never outgrows ``limit`` papers
            self._docs = current
        return {key: doc for key, (_, doc) in current.items()}


# The recommender's reasons that name one of the user's papers: "<Verb> “<title>”" plus ", which you saved" or
# ", which you opened" (recommender/serving/reasons.py; the bare form, from older versions, reads as saved).
_NAMED_PAPER = re.compile(r"^(Similar to|Shares topics with|Cites|Cited by) (“.+”)(, which you (saved|opened))?$")
# Said by "New · ..." already.
_COLD_NEW = "New paper — "  # a user with no saves yet: the recommender's reason already says "new"
_REDUNDANT = frozenset({RECENTLY_ADDED_REASON})


def new_paper_reasons(reasons: list[str]) -> list[str]:
    """A new-for-you item's reasons: the first says it is new and why it fits ("New · similar to “X” you
    saved": the first reason that names one of the reader's papers), the rest follow as the recommender gave
    them (for the collaborative part: "Readers of “Y” also read papers like this")."""
    kept = [r for r in reasons if r not in _REDUNDANT]
    if not kept:
        return ["New"]
    # the nearest paper of the reader's own says best why a paper nobody has read yet fits; what readers of
    # papers like it did follows
    lead = next((i for i, r in enumerate(kept) if _NAMED_PAPER.match(r)), 0)
    kept.insert(0, kept.pop(lead))
    first, rest = kept[0], kept[1:]
    named = _NAMED_PAPER.match(first)
    if first.startswith(_COLD_NEW):
        first = first[len(_COLD_NEW) :]
    elif named:
        verb, title, _, how = named.groups()
        first = f"{verb.lower()} {title} you {how or 'saved'}"
    else:
        first = first[:1].lower() + first[1:]
    return [f"New · {first}", *rest]
