"""PaperScout recommender: a pure library (matrices in, arrays out). See docs/recommender.md."""

from recommender.config import Config, default_config, load_config, merge_config, parse_config
from recommender.definitions import (
    CHOICE_EVENTS,
    EVENT_TYPES,
    RECENTLY_ADDED_REASON,
    TRACKING_EVENTS,
    WINDOW_LABELS,
    WINDOWS,
    trending_reason,
)
from recommender.interactions import IdMap, InteractionData, build_matrix
from recommender.models import ALSRecommender, ItemCooccurrence, TextModel
from recommender.offline.metrics import ndcg_at_k, recall_at_k
from recommender.offline.stages import InteractionColumns
from recommender.offline.training import TrainResult, train
from recommender.serving import COMPONENTS, HistoryEvent, HybridRecommender, PaperDoc, Recommendation
from recommender.timing import StageClock
from recommender.trending import Trending, freshness_boost, trending

__all__ = [
    "CHOICE_EVENTS",
    "COMPONENTS",
    "RECENTLY_ADDED_REASON",
    "EVENT_TYPES",
    "TRACKING_EVENTS",
    "WINDOWS",
    "WINDOW_LABELS",
    "ALSRecommender",
    "Config",
    "HistoryEvent",
    "HybridRecommender",
    "IdMap",
    "InteractionColumns",
    "InteractionData",
    "ItemCooccurrence",
    "PaperDoc",
    "Recommendation",
    "StageClock",
    "TextModel",
    "TrainResult",
    "Trending",
    "build_matrix",
    "default_config",
    "freshness_boost",
    "load_config",
    "merge_config",
    "ndcg_at_k",
    "parse_config",
    "recall_at_k",
    "train",
    "trending",
    "trending_reason",
]
