"""The values a caller passes in and gets back (papers, history events, recommendations), and a user's
signals passed between the steps of a request."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import scipy.sparse as sp

from recommender.models.content import doc_text
from recommender.models.cooccurrence import HistoryScores


@dataclass(frozen=True)
class PaperDoc:
    key: str
    title: str
    abstract: str = ""
    keywords: tuple[str, ...] = ()
    published_at: datetime | None = None
    references: tuple[str, ...] = ()  # keys of the papers it cites

    @functools.cached_property
    def text(self) -> str:
        # its own key is a link too: a paper and the papers citing it then share that token. Cached: a server
        # process keeps the docs of papers added after the retrain and reads their text on every request.
        return doc_text(self.title, self.abstract, self.keywords, links=(self.key, *self.references))


@dataclass(frozen=True)
class HistoryEvent:
    """One row of the user's own interaction log."""

    key: str
    type: str
    occurred_at: datetime


@dataclass
class Recommendation:
    key: str
    score: float
    components: dict[str, float]
    reasons: list[str] = field(default_factory=list)


@dataclass
class UserSignals:
    """A user's inputs to the components: ALS factor, co-occurrence scores, text profile (None: unavailable)."""

    user_factor: np.ndarray | None
    cooc_scores: np.ndarray | HistoryScores | None
    profile: sp.csr_matrix | None
