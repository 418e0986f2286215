"""The services' domain objects as the API shows them (dicts the response schemas of server/schemas.py dump)."""

from __future__ import annotations

from typing import Any

from server.models import Paper
from server.services.catalog import shown_url
from server.services.recommendations import RankedList
from server.services.state import Marks


def paper_dict(
    paper: Paper, *, saved: bool | None = None, dismissed: bool | None = None, references: bool = False
) -> dict[str, Any]:
    """A paper as the API shows it; ``references`` (up to 1,000 keys) only where one paper is asked for."""
    out: dict[str, Any] = {
        "key": paper.key,
        "title": paper.title,
        "abstract": paper.abstract,
        "authors": list(paper.authors or []),
        "keywords": list(paper.keywords or []),
        "url": shown_url(paper.key, paper.url),
        "published_at": paper.published_at,
        "announced_at": paper.announced_at,
        "source": paper.source,
    }
    if references:
        out["references"] = list(paper.references or [])
    if saved is not None:
        out["saved"] = saved
    if dismissed is not None:
        out["dismissed"] = dismissed
    return out


def marked_paper_dict(paper: Paper, marks: Marks | None, *, references: bool = False) -> dict[str, Any]:
    """A paper with the requesting user's marks on it (none for an anonymous request)."""
    if marks is None:
        return paper_dict(paper, references=references)
    return paper_dict(
        paper, saved=paper.id in marks.saved, dismissed=paper.id in marks.dismissed, references=references
    )


def ranked_list_dict(ranked: RankedList) -> dict[str, Any]:
    """A ranked list (ListResultSchema): each paper with its score, score components and reasons."""
    items = [
        {
            "paper": marked_paper_dict(item.paper, ranked.marks),
            "score": round(float(item.score), 6),
            "components": item.components,
            "reasons": item.reasons,
        }
        for item in ranked.items
    ]
    return {"items": items, "window": ranked.window, "source": ranked.source}
