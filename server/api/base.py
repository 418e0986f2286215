"""The Blueprint every resource uses: flask-smorest with unknown query parameters rejected too."""

from __future__ import annotations

from flask_smorest import Blueprint as SmorestBlueprint
from webargs.flaskparser import FlaskParser


class StrictParser(FlaskParser):
    # A misspelt query parameter (`?limt=5`) is an error, not silently ignored; schemas say RAISE themselves.
    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": None, "querystring": None}


class Blueprint(SmorestBlueprint):
    ARGUMENTS_PARSER = StrictParser()
