"""Saved papers: current state, paged newest first; export as BibTeX, CSV or JSON; import a reference-manager
export (BibTeX, Zotero CSV, RIS) as saves."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request
from flask_login import current_user, login_required
from flask_smorest.error_handler import ErrorSchema

from server.api.base import Blueprint
from server.api.params import parse_key
from server.api.serialize import paper_dict
from server.db import db
from server.errors import abort
from server.fields import encode_cursor
from server.schemas import (
    ExportArgsSchema,
    ImportArgsSchema,
    ImportReportSchema,
    PageArgsSchema,
    SaveBodySchema,
    SavePageSchema,
    SaveSchema,
)
from server.security import no_store
from server.services import choices, exports, imports
from server.services.papers import PaperMeta
from server.services.reference_files import BadReferenceFile

blp = Blueprint("saves", __name__, url_prefix="/saves", description="Saved papers")


@blp.route("", methods=["GET"])
@login_required
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, SavePageSchema)
def list_saves(args: dict[str, Any]) -> dict[str, Any]:
    """My saved papers, newest first, with cursor pagination."""
    page = choices.saves_page(db.session, current_user.id, args["cursor"], args["limit"])
    items = [{"paper": paper_dict(p, saved=True, dismissed=False), "saved_at": s.saved_at} for s, p in page.saves]
    return {"items": items, "next_cursor": encode_cursor(*page.next_after) if page.next_after else None}


@blp.route("/<paperkey:key>", methods=["PUT"])
@login_required
@blp.arguments(SaveBodySchema(partial=False), required=False)
@blp.response(200, SaveSchema)
def put_save(body: dict[str, Any] | None, key: str) -> dict[str, Any]:
    """Save a paper (idempotent). Optional metadata in `paper` creates the paper record, or fills its empty
    fields while no import has described it (within the client size limits; never its URL)."""
    canonical = parse_key(key)
    meta_payload = (body or {}).get("paper") or {}
    for name in ("canonical_key", "canonical_url"):
        if meta_payload.get(name) and meta_payload[name] != canonical:
            abort(
                422,
                "The paper in the body is not the paper in the path.",
                {"paper": {name[10:]: ["mismatch"]}},
            )
    paper, save = choices.save(db.session, current_user.id, PaperMeta.from_payload(canonical, meta_payload))
    return {"paper": paper_dict(paper, saved=True, dismissed=False), "saved_at": save.saved_at}


@blp.route("/<paperkey:key>", methods=["DELETE"])
@login_required
@blp.response(204)
def delete_save(key: str) -> None:
    """Unsave a paper (idempotent)."""
    choices.unsave(db.session, current_user.id, parse_key(key))


@blp.route("/export", methods=["GET"])
@no_store
@login_required
@blp.arguments(ExportArgsSchema, location="query")
@blp.response(200, description="My saves as a download: BibTeX, CSV or JSON")
def export_saves(args: dict[str, Any]) -> Response:
    """All my saves, newest first, as a file: `bibtex` (arXiv papers as arXiv's own export writes them, with
    `eprint`, `archivePrefix` and `primaryClass`; DOIs as `doi`), `csv` or `json` (key, title, authors, year,
    date, url, saved_at, ...)."""
    download = exports.export_file(db.session, current_user.id, args["format"])
    disposition = f'attachment; filename="{download.filename}"'
    return Response(download.text, mimetype=download.mimetype, headers={"Content-Disposition": disposition})


IMPORT_BODY = {
    "required": True,
    "description": "The file: as the `file` field of a form upload, or as the raw body.",
    "content": {
        "multipart/form-data": {
            "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
        },
        "text/plain": {"schema": {"type": "string"}},
        "application/x-bibtex": {"schema": {"type": "string"}},
        "text/csv": {"schema": {"type": "string"}},
        "application/x-research-info-systems": {"schema": {"type": "string"}},
    },
}


@blp.route("/import", methods=["POST"])
@login_required
@blp.arguments(ImportArgsSchema, location="query")
@blp.doc(requestBody=IMPORT_BODY)
@blp.response(200, ImportReportSchema)
@blp.alt_response(400, schema=ErrorSchema, description="The file cannot be read; nothing was imported")
@blp.alt_response(413, schema=ErrorSchema, description="The file is too large; nothing was imported")
@blp.alt_response(422, schema=ErrorSchema, description="The database refused the file's data; nothing was imported")
def import_saves(args: dict[str, Any]) -> imports.ImportReport:
    """Save every paper of a BibTeX, Zotero CSV or RIS export. arXiv ids and DOIs are matched to papers in the
    catalog; unknown papers are created from the file. All or nothing: the report says what was matched, what
    was created, and what was skipped and why."""
    data, filename = _upload()
    try:
        fmt, entries = imports.read_entries(data, args["format"], filename)
    except BadReferenceFile as exc:
        abort(400, f"{exc} Nothing was imported.", {"file": exc.problems[:20]})
    try:
        return imports.import_saves(db.session, current_user.id, fmt, entries)
    except imports.ImportRefused as exc:
        abort(422, str(exc), {"file": [str(exc)]})


def _upload() -> tuple[bytes, str]:
    """The uploaded file's bytes and name (a form's `file` field, or the raw body), within the size limit."""
    limit = current_app.config["IMPORT_MAX_BYTES"]
    if request.content_length is not None and request.content_length > limit + 64 * 1024:
        abort(413, f"The file is larger than {limit} bytes.", {"file": [f"at most {limit} bytes"]})
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            abort(400, "Send the file as the form field `file`.", {"file": ["missing"]})
        data, filename = upload.read(limit + 1), upload.filename or ""
    else:
        data, filename = request.get_data(cache=False), ""
    if len(data) > limit:
        abort(413, f"The file is larger than {limit} bytes.", {"file": [f"at most {limit} bytes"]})
    if not data.strip():
        abort(400, "The file is empty. Nothing was imported.", {"file": ["empty"]})
    return data, filename
