"""The Blueprint every resource uses: flask-smorest with unknown query parameters rejected too, and JSON bodies
parsed within bounds."""

from __future__ import annotations

from typing import Any

import flask
from flask_smorest import Blueprint as SmorestBlueprint
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from server.errors import abort
from server.json_input import DEFAULT_MAX_DEPTH, InvalidJson, loads


class StrictParser(FlaskParser):
    # A misspelt query parameter (`?limt=5`) is an error, not silently ignored; schemas say RAISE themselves.
    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": None, "querystring": None}

    def _raw_load_json(self, req: flask.Request) -> Any:
        # webargs parses with the standard json module: a deeply nested body would end in RecursionError.
        if not is_json_request(req):
            return core.missing
        max_depth = flask.current_app.config.get("JSON_MAX_DEPTH", DEFAULT_MAX_DEPTH)
        try:
            return loads(req.get_data(cache=True), max_depth=max_depth)
        except InvalidJson as exc:
            abort(400, f"The request body is not valid JSON: {exc.reason}.", {"json": [exc.reason]})


class Blueprint(SmorestBlueprint):
    ARGUMENTS_PARSER = StrictParser()
