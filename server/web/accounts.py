"""Sign up (with onboarding: topics and papers the reader already knows), sign in, sign out."""

from __future__ import annotations

import re
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from marshmallow import ValidationError

from server.db import db
from server.keys import InvalidKey, canonical_key
from server.schemas import CredentialsSchema, LoginSchema
from server.services import choices, topics, users
from server.services.papers import PaperMeta
from server.web.blueprint import bp, form_text, safe_next, signed_in
from server.web.outlets import BadUpload, import_upload

MAX_PASTED_PAPERS = 50
_SEPARATORS = re.compile(r"[\s,;]+")


def _credentials(schema: CredentialsSchema) -> tuple[dict[str, Any] | None, dict[str, list[str]]]:
    try:
        return schema.load({"email": form_text("email", 400), "password": form_text("password", 400)}), {}
    except ValidationError as exc:
        return None, {k: list(v) for k, v in exc.normalized_messages().items()}


@bp.route("/signup", methods=["GET", "POST"])
def sign_up() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("web.home"))
    if request.method == "GET":
        return render_template("sign_up.html", errors={}, email="")
    data, errors = _credentials(CredentialsSchema())
    if data is not None and form_text("password", 400) != form_text("confirm", 400):
        data, errors = None, {"confirm": ["The two passwords differ."]}
    if data is not None:
        try:
            user = users.create_user(db.session, data["email"], data["password"])
        except users.EmailTaken:
            errors = {"email": ["An account with this email exists already: sign in instead."]}
        else:
            db.session.commit()
            login_user(user)
            return redirect(url_for("web.welcome"), code=303)
    return render_template("sign_up.html", errors=errors, email=form_text("email", 320)), 422


@bp.route("/signin", methods=["GET", "POST"])
def sign_in() -> Any:
    target = safe_next(request.values.get("next"), url_for("web.home"))
    if current_user.is_authenticated:
        return redirect(target)
    if request.method == "GET":
        return render_template("sign_in.html", errors={}, email="", next=target)
    data, errors = _credentials(LoginSchema())
    status = 422
    if data is not None:
        user = users.authenticate(db.session, data["email"], data["password"])
        if user is not None:
            login_user(user)
            return redirect(target, code=303)
        # 401 is what the per-account limit of failed password checks counts (server/security/limits.py).
        errors, status = {"password": ["Wrong email or password."]}, 401
    return render_template("sign_in.html", errors=errors, email=form_text("email", 320), next=target), status


@bp.post("/signout")
@signed_in
def sign_out() -> Any:
    # As the API's logout with a cookie: a new session secret ends this session in every browser.
    current_user.rotate_session_token()
    db.session.commit()
    logout_user()
    flash("You are signed out.")
    return redirect(url_for("web.home"), code=303)


def parse_paper_list(text: str) -> tuple[list[str], list[str]]:
    """Canonical keys of the arXiv ids, URLs or other paper keys in ``text`` (separated by spaces, commas or
    lines), and the pieces that are none."""
    keys: list[str] = []
    bad: list[str] = []
    for piece in _SEPARATORS.split(text):
        if not piece:
            continue
        try:
            key = canonical_key(piece)
        except InvalidKey:
            bad.append(piece[:80])
            continue
        if key not in keys:
            keys.append(key)
    return keys, bad


@bp.route("/welcome", methods=["GET", "POST"])
@signed_in
def welcome() -> Any:
    """Onboarding: topics, papers the reader knows, a reference manager's export: the first list is theirs."""
    chosen = topics.get_topics(db.session, current_user.id)
    if request.method == "GET":
        return render_template("welcome.html", chosen=chosen, papers="", errors={})
    picked = [c for c in request.form.getlist("topics") if isinstance(c, str)]
    pasted = form_text("papers", 20000)
    keys, bad = parse_paper_list(pasted)
    errors: dict[str, list[str]] = {}
    if bad:
        errors["papers"] = [f"Not an arXiv id or paper link: {', '.join(bad[:5])}"]
    if len(keys) > MAX_PASTED_PAPERS:
        errors["papers"] = [f"At most {MAX_PASTED_PAPERS} papers at once; you pasted {len(keys)}."]
    unknown = [c for c in picked if c not in topics.CATEGORIES]
    if unknown or len(set(picked)) > topics.MAX_TOPICS:
        errors["topics"] = [f"Pick at most {topics.MAX_TOPICS} of the topics listed."]
    if errors:
        return render_template("welcome.html", chosen=picked, papers=pasted, errors=errors), 422
    try:
        # First: the import stores all of its file or nothing, and a refused file must leave nothing else stored.
        report = import_upload("file")
    except BadUpload as exc:
        errors["file"] = [str(exc)]
        return render_template("welcome.html", chosen=picked, papers=pasted, errors=errors), exc.status
    topics.set_topics(db.session, current_user.id, picked)
    for key in keys:
        # An explicit choice of the reader: a save. Papers not in the catalog yet are added bare, and
        # `flask ingest resolve` fills in their metadata.
        choices.save(db.session, current_user.id, PaperMeta(key=key))
    flash(_welcome_message(len(picked), len(keys) + (report.newly_saved if report else 0)))
    return redirect(url_for("web.home"), code=303)


def _welcome_message(n_topics: int, n_papers: int) -> str:
    parts = []
    if n_topics:
        parts.append(f"{n_topics} topic{'s' if n_topics != 1 else ''}")
    if n_papers:
        parts.append(f"{n_papers} saved paper{'s' if n_papers != 1 else ''}")
    if not parts:
        return "Welcome! Save papers as you read and this list becomes yours."
    return f"Welcome! Your list now starts from {' and '.join(parts)}."
