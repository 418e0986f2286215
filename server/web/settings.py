"""Settings: one template partial per section (server/web/templates/settings/), so that a section is added by
adding its partial to SECTIONS and its form handlers here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from marshmallow import ValidationError

from server.db import db
from server.models import User
from server.schemas import PasswordChangeSchema
from server.security import no_store
from server.services import account, digest, feeds, topics, users
from server.web.blueprint import bp, form_text, signed_in

# The extension records papers opened on these sites (extension/lib/detect.js, PAPER_SITES).
PAPER_SITES = ("arxiv.org", "huggingface.co", "openreview.net", "alphaxiv.org", "semanticscholar.org")


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    template: str


SECTIONS = (
    Section("tracking", "Tracking", "settings/_tracking.html"),
    Section("topics", "Topics", "settings/_topics.html"),
    Section("sites", "Sites", "settings/_sites.html"),
    Section("digest", "Digest email", "settings/_digest.html"),
    Section("feeds", "Feeds", "settings/_feeds.html"),
    Section("export", "Export", "settings/_export.html"),
    Section("import", "Import", "settings/_import.html"),
    Section("tokens", "Extension sign-ins", "settings/_tokens.html"),
    Section("password", "Password", "settings/_password.html"),
    Section("reset", "Reset personalisation", "settings/_reset.html"),
    Section("delete", "Delete account", "settings/_delete.html"),
)


def settings_page(status: int = 200, errors: dict[str, dict[str, list[str]]] | None = None, **extra: Any) -> Any:
    """The settings page; ``extra`` reaches the templates (a section's form values or an import's report)."""
    context = {
        "sections": SECTIONS,
        "user": current_user,
        "chosen": topics.get_topics(db.session, current_user.id),
        "tokens": account.tokens_of(db.session, current_user.id),
        "sites": PAPER_SITES,
        "errors": errors or {},
        **_outlets(current_user.id),
        **extra,
    }
    return render_template("settings.html", **context), status


def _outlets(user_id: int) -> dict[str, Any]:
    """What the digest and feed sections show: the digest setting, the zones to choose from, the feed URLs."""
    token = feeds.feed_token(db.session, user_id)
    return {
        "digest": digest.get_settings(db.session, user_id),
        "timezones": sorted(digest.valid_timezones()),
        "feed_urls": [
            (name, title, url_for("feeds.feed", token=token, name=name, _external=True))
            for name, title in feeds.FEED_LISTS.items()
        ],
    }


def back_to(section: str, message: str) -> Any:
    flash(message)
    return redirect(url_for("web.settings") + f"#{section}", code=303)


@bp.get("/settings")
@no_store
@signed_in
def settings() -> Any:
    return settings_page()


@bp.post("/settings/tracking")
@signed_in
def settings_tracking() -> Any:
    paused = request.form.get("paused") == "1"
    user = db.session.get(User, current_user.id)
    user.tracking_paused = paused
    db.session.commit()
    return back_to("tracking", "Tracking is paused." if paused else "Tracking is on again.")


@bp.post("/settings/topics")
@signed_in
def settings_topics() -> Any:
    picked = [c for c in request.form.getlist("topics") if isinstance(c, str)]
    try:
        chosen = topics.set_topics(db.session, current_user.id, picked)
    except ValueError as exc:  # UnknownTopic too
        return settings_page(422, {"topics": {"topics": [str(exc)]}})
    return back_to("topics", f"Your topics are saved ({len(chosen)}).")


@bp.post("/settings/tokens/<int:token_id>/revoke")
@signed_in
def settings_revoke_token(token_id: int) -> Any:
    if not account.revoke_token(db.session, current_user.id, token_id):
        return settings_page(404, {"tokens": {"token": ["No such sign-in of yours."]}})
    return back_to("tokens", "That sign-in is revoked: the extension using it must sign in again.")


@bp.post("/settings/password")
@no_store
@signed_in
def settings_password() -> Any:
    form = {"current_password": form_text("current_password", 400), "new_password": form_text("new_password", 400)}
    try:
        data = PasswordChangeSchema().load(form)
    except ValidationError as exc:
        return settings_page(422, {"password": dict(exc.normalized_messages())})
    if data["new_password"] != form_text("confirm", 400):
        return settings_page(422, {"password": {"confirm": ["The two new passwords differ."]}})
    try:
        revoked = users.change_password(
            db.session, current_user.id, data["current_password"], data["new_password"], None
        )
    except users.WrongPassword:
        # 403 is what the per-account limit of failed password checks counts (server/security/limits.py).
        return settings_page(403, {"password": {"current_password": ["This is not your current password."]}})
    login_user(db.session.get(User, current_user.id))  # this browser stays signed in, with the new secret
    return back_to("password", f"Password changed; other sessions and {revoked} extension sign-in(s) ended.")


@bp.post("/settings/reset")
@signed_in
def settings_reset() -> Any:
    if request.form.get("confirm") != "yes":
        return settings_page(422, {"reset": {"confirm": ["Tick the box to confirm."]}})
    counts = account.reset_personalisation(db.session, current_user.id)
    return back_to(
        "reset",
        f"Forgotten: {counts.interactions_removed} events and {counts.dismissals_removed} dismissals. "
        "Your saved papers stay.",
    )


@bp.post("/settings/delete")
@signed_in
def settings_delete() -> Any:
    if form_text("confirm_email", 400).strip().lower() != current_user.email.lower():
        return settings_page(422, {"delete": {"confirm_email": ["Type your email address exactly to confirm."]}})
    account.erase_account(db.session, current_user.id)
    logout_user()
    flash("Your account and everything stored about it are deleted.")
    return redirect(url_for("web.home"), code=303)
