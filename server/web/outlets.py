"""Settings sections that take the list elsewhere: the digest email, the Atom feeds, export and import.

They call the same services as the API (server/services/digest.py, feeds.py, exports.py, imports.py) through
plain forms; the settings page (server/web/settings.py) renders their partials.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, current_app, request
from flask_login import current_user
from marshmallow import ValidationError

from server.db import db
from server.schemas import DigestSettingsSchema
from server.security import no_store
from server.services import digest, exports, feeds, imports
from server.services.reference_files import BadReferenceFile
from server.web.blueprint import bp, form_text, signed_in
from server.web.settings import back_to, settings_page

FREQUENCY_WORDS = {"off": "off", "daily": "every day", "weekly": "every Monday"}


class BadUpload(Exception):
    """An uploaded reference file that cannot be imported; ``status`` is the page's HTTP status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@bp.post("/settings/digest")
@signed_in
def settings_digest() -> Any:
    hour = form_text("hour", 8)
    form = {
        "frequency": form_text("frequency", 16),
        "hour": int(hour) if hour.isdigit() else hour,
        "timezone": form_text("timezone", 100),
    }
    try:
        data = DigestSettingsSchema().load(form)
    except ValidationError as exc:
        # The form shows what was chosen, with the errors, and nothing is stored.
        typed = digest.Settings(form["frequency"], form["hour"], form["timezone"])
        return settings_page(422, {"digest": dict(exc.normalized_messages())}, digest=typed)
    chosen = digest.put_settings(db.session, current_user.id, data["frequency"], data["hour"], data["timezone"])
    if chosen.frequency == "off":
        return back_to("digest", "The digest email is off.")
    return back_to(
        "digest",
        f"The digest email is on: {FREQUENCY_WORDS[chosen.frequency]} from {chosen.hour:02d}:00 "
        f"({chosen.timezone}), when there are papers new for you.",
    )


@bp.post("/settings/feeds/rotate")
@signed_in
def settings_rotate_feeds() -> Any:
    if request.form.get("confirm") != "yes":
        return settings_page(422, {"feeds": {"confirm": ["Tick the box to confirm."]}})
    feeds.rotate_feed_token(db.session, current_user.id)
    return back_to("feeds", "New feed addresses: the old ones stopped working. Give your feed reader the new ones.")


@bp.get("/settings/export.<string:fmt>")
@no_store
@signed_in
def settings_export(fmt: str) -> Response:
    if fmt not in exports.EXPORT_FORMATS:
        abort(404)
    download = exports.export_file(db.session, current_user.id, fmt)
    disposition = f'attachment; filename="{download.filename}"'
    return Response(download.text, mimetype=download.mimetype, headers={"Content-Disposition": disposition})


@bp.post("/settings/import")
@no_store
@signed_in
def settings_import() -> Any:
    try:
        report = import_upload("file")
    except BadUpload as exc:
        return settings_page(exc.status, {"import": {"file": [str(exc)]}})
    if report is None:
        return settings_page(400, {"import": {"file": ["Choose a file to import."]}})
    return settings_page(200, report=report)


def import_upload(field: str) -> imports.ImportReport | None:
    """Import the file uploaded as ``field`` as the reader's saves, all or nothing; None when no file was sent.
    Raises BadUpload (nothing stored) for a file too large, unreadable, or refused by the database."""
    upload = request.files.get(field)
    if upload is None or not upload.filename:
        return None
    limit = current_app.config["IMPORT_MAX_BYTES"]
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise BadUpload(f"The file is larger than {limit // 1024} KiB. Nothing was imported.", 413)
    if not data.strip():
        raise BadUpload("The file is empty. Nothing was imported.")
    try:
        fmt, entries = imports.read_entries(data, None, upload.filename)
        return imports.import_saves(db.session, current_user.id, fmt, entries)
    except BadReferenceFile as exc:
        problems = "; ".join(p for p in exc.problems[:5] if p not in str(exc))  # the message may name one
        raise BadUpload(f"{exc}{' (' + problems + ')' if problems else ''} Nothing was imported.") from None
    except imports.ImportRefused as exc:
        raise BadUpload(f"{exc} Nothing was imported.", 422) from None
