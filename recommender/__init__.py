"""PaperScout recommender: a pure library (matrices in, arrays out). See docs/recommender.md."""

from recommender.collaborative import ALSRecommender
from recommender.config import default_config, load_config, merge_config
from recommender.content import TextModel
from recommender.cooccurrence import ItemCooccurrence
from recommender.hybrid import RECENTLY_ADDED_REASON, HistoryEvent, HybridRecommender, PaperDoc, Recommendation
from recommender.interactions import IdMap, InteractionData, build_matrix
from recommender.offline.metrics import ndcg_at_k, recall_at_k
from recommender.training import TrainResult, train
from recommender.trending import Trending, trending

__all__ = [
    "RECENTLY_ADDED_REASON",
    "ALSRecommender",
    "HistoryEvent",
    "HybridRecommender",
    "IdMap",
    "InteractionData",
    "ItemCooccurrence",
    "PaperDoc",
    "Recommendation",
    "TextModel",
    "TrainResult",
    "Trending",
    "build_matrix",
    "default_config",
    "load_config",
    "merge_config",
    "ndcg_at_k",
    "recall_at_k",
    "train",
    "trending",
]
