"""PaperScout backend: the Flask application factory."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from flask import Flask, redirect

from server import auth, cli, digest, request_limits, security, web
from server.api import register as register_api
from server.config import PROJECT_ROOT, defaults, load_secret_key
from server.db import db
from server.errors import PaperScoutApi
from server.services import recommendations, serving_model


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    instance = os.environ.get("PAPERSCOUT_INSTANCE", str(PROJECT_ROOT / "instance"))
    # No app-wide static folder: the web app serves its own at /static (server/web/static).
    app = Flask(__name__, instance_path=instance, instance_relative_config=True, static_folder=None)
    app.config.from_mapping(defaults())
    if test_config:
        app.config.from_mapping(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = load_secret_key(app.instance_path)
    Path(app.config["MODEL_DIR"]).mkdir(parents=True, exist_ok=True)
    request_limits.init_app(app)  # first: its converters must exist before routes, its checks before hooks
    if not app.debug:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("alembic").setLevel(logging.WARNING)

    db.init_app(app)
    auth.init_app(app)
    serving_model.init_app(app)
    recommendations.init_app(app)
    api = PaperScoutApi(app)
    register_api(api)
    web.init_app(app, api)  # the pages at /, and their error pages
    security.init_app(app)  # after the API: the abuse limits wrap its registered views
    cli.init_app(app)
    digest.init_app(app)

    @app.get("/healthz")
    def root_health():  # the same check, where load balancers look for it
        return redirect("/api/v1/healthz", code=307)

    return app
