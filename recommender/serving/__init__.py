"""Serving: the fitted hybrid model and everything a request does with it (see serving/hybrid.py)."""

from recommender.serving.blend import COMPONENTS
from recommender.serving.hybrid import HybridRecommender, UserSignals
from recommender.serving.types import HistoryEvent, PaperDoc, Recommendation
from recommender.serving.user_state import UserState

__all__ = ["COMPONENTS", "HistoryEvent", "HybridRecommender", "PaperDoc", "Recommendation", "UserSignals", "UserState"]
