"""Serving: the fitted hybrid model and everything a request does with it (see serving/hybrid.py)."""

from recommender.serving.blend import COMPONENTS
from recommender.serving.hybrid import HybridRecommender
from recommender.serving.types import HistoryEvent, PaperDoc, Recommendation, UserSignals
from recommender.serving.user_state import UserState

__all__ = ["COMPONENTS", "HistoryEvent", "HybridRecommender", "PaperDoc", "Recommendation", "UserSignals", "UserState"]
