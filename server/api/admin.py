"""Administration: model status and paper import. Admins only; everyone else gets 403."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate
from sqlalchemy import func, select

from server.api.base import Blueprint
from server.auth import admin_required
from server.db import db
from server.models import Interaction, ModelVersion, Paper, User
from server.schemas import PaperMetaSchema, StrictSchema
from server.services import recommendations
from server.services.papers import PROVENANCE_IMPORT, PaperMeta, fold_metas, upsert_papers

blp = Blueprint("admin", __name__, url_prefix="/admin", description="Administration (admins only)")


class ImportSchema(StrictSchema):
    papers = fields.List(fields.Nested(PaperMetaSchema), required=True, validate=validate.Length(min=1, max=5000))


class ImportResultSchema(StrictSchema):
    imported = fields.Integer()


@blp.route("/model", methods=["GET"])
@admin_required
@blp.response(200)
def model_status() -> dict[str, Any]:
    """The model serving in this process: version, created_at, data counts, evaluation metrics."""
    loaded = recommendations.current_model()
    history = [
        {
            "version": v.version,
            "created_at": v.created_at.isoformat(),
            "metrics": v.metrics,
            "counts": v.counts,
        }
        for v in db.session.scalars(select(ModelVersion).order_by(ModelVersion.id.desc()).limit(10))
    ]
    if loaded is None:
        return {
            "version": None,
            "message": "No model trained yet: run `flask --app server retrain`.",
            "history": history,
        }
    manifest = loaded.manifest
    return {
        "version": loaded.version,
        "created_at": manifest.get("created_at"),
        "counts": manifest.get("counts", {}),
        "metrics": manifest.get("metrics", {}),
        "weights": manifest.get("config", {}).get("blend", {}),
        "weights_long_history": manifest.get("config", {}).get("blend_long_history", {}),
        "history": history,
    }


@blp.route("/model/reload", methods=["POST"])
@admin_required
@blp.response(200)
def reload_model() -> dict[str, Any]:
    """Load the current model version in this worker now (other workers notice it within seconds anyway)."""
    loaded = recommendations.reload_model()
    return {"version": loaded.version if loaded else None}


@blp.route("/stats", methods=["GET"])
@admin_required
@blp.response(200)
def stats() -> dict[str, int]:
    """Row counts."""
    session = db.session
    return {
        "users": session.scalar(select(func.count()).select_from(User)) or 0,
        "papers": session.scalar(select(func.count()).select_from(Paper)) or 0,
        "interactions": session.scalar(select(func.count()).select_from(Interaction)) or 0,
    }


@blp.route("/papers", methods=["POST"])
@admin_required
@blp.arguments(ImportSchema)
@blp.response(200, ImportResultSchema)
def import_papers(data: dict[str, Any]) -> dict[str, int]:
    """Import or update up to 5000 papers in one transaction, as authoritative metadata: given values replace
    stored ones (empty ones never blank them, references are added), and clients can no longer change them."""
    described = (PaperMeta.from_payload(item["canonical_key"], item) for item in data["papers"])
    metas = fold_metas(described, PROVENANCE_IMPORT)
    ids = upsert_papers(db.session, metas, PROVENANCE_IMPORT)
    db.session.commit()
    return {"imported": len(ids)}
