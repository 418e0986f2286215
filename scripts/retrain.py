"""Retrain the recommender from the database and publish it: the same code as `flask --app server retrain`.

.venv/bin/python scripts/retrain.py [--config overrides.json] [--quiet]
"""

from server.cli import retrain_main

if __name__ == "__main__":
    retrain_main()
