"""Administration: model status and paper import. Admins only; everyone else gets 403."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate
from sqlalchemy import func, select

from server.api.base import Blueprint
from server.auth import admin_required
from server.db import db
from server.ingest import runs as ingest_runs
from server.models import PROVENANCE_IMPORT, IngestRun, Interaction, ModelVersion, Paper, User
from server.schemas import PaperMetaSchema, StrictSchema
from server.services import serving_model
from server.services.papers import PaperMeta, fold_metas, upsert_papers

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
    loaded = serving_model.current_model()
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
    loaded = serving_model.reload_model()
    return {"version": loaded.version if loaded else None}


@blp.route("/stats", methods=["GET"])
@admin_required
@blp.response(200)
def stats() -> dict[str, Any]:
    """Row counts, and ingestion: the latest run of each source, recent runs, OAI-PMH harvests."""
    session = db.session
    return {
        "users": session.scalar(select(func.count()).select_from(User)) or 0,
        "papers": session.scalar(select(func.count()).select_from(Paper)) or 0,
        "interactions": session.scalar(select(func.count()).select_from(Interaction)) or 0,
        "ingest": _ingest_stats(session),
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _run_json(run: IngestRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "source": run.source,
        "params": run.params,
        "status": run.status,
        "started_at": run.started_at.isoformat(),
        "finished_at": _iso(run.finished_at),
        "fetched": run.fetched,
        "new": run.new,
        "updated": run.updated,
        "failed": run.failed,
        "error": run.error,
    }


def _ingest_stats(session: Any) -> dict[str, Any]:
    last_ok = ingest_runs.last_success(session)
    return {
        "sources": {
            source: {"last_run": _run_json(run), "last_ok_at": _iso(last_ok.get(source))}
            for source, run in ingest_runs.latest_by_source(session).items()
        },
        "recent": [_run_json(run) for run in ingest_runs.recent_runs(session, 10)],
        "oai": [
            {
                "set": state.set_spec,
                "resumable": state.resumption_token is not None,
                "cursor": state.cursor,
                "complete_list_size": state.complete_list_size,
                "harvested_through": _iso(state.harvested_through),
            }
            for state in ingest_runs.oai_states(session)
        ],
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
