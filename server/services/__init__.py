"""Glue between the HTTP layer, the database and the recommender."""
