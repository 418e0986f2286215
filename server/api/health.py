"""Health check for load balancers and the extension's connection test."""

from __future__ import annotations

from flask import jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from server.api.base import Blueprint
from server.db import db
from server.services import serving_model

blp = Blueprint("health", __name__, description="Health")


@blp.route("/healthz", methods=["GET"])
@blp.response(200)
def healthz():
    """Database reachable and which model version serves (503 when the database is not reachable)."""
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except SQLAlchemyError as exc:
        database = f"unreachable: {type(exc).__name__}"
    loaded = serving_model.current_model()
    body = {
        "status": "ok" if database == "ok" else "degraded",
        "database": database,
        "model": {"version": loaded.version if loaded else None},
    }
    return jsonify(body), 200 if database == "ok" else 503
