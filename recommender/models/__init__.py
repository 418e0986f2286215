"""The fitted models the hybrid blends: ALS (collaborative), TF-IDF text (content), item co-occurrence."""

from recommender.models.collaborative import ALSRecommender
from recommender.models.content import TextModel
from recommender.models.cooccurrence import ItemCooccurrence

__all__ = ["ALSRecommender", "ItemCooccurrence", "TextModel"]
