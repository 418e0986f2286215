"""The pages a digest's links open, without signing in: save a paper, unsubscribe.

GET never changes anything (mail scanners fetch every link); the buttons POST. A form carries the CSRF token
too when the browser happens to be signed in, as every cookie-session POST must (server/security/csrf.py).
Pages are HTML for browsers; a client that does not ask for HTML gets the API's JSON error shape.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request
from flask_login import current_user

from server.db import db
from server.digest import tokens
from server.models import Paper, Save, User
from server.security import csrf_token_for, no_store
from server.services import choices, digest
from server.services.catalog import paper_by_key

blp = Blueprint("digest", __name__, url_prefix="/digest", template_folder="templates", static_folder="static")


TITLES = {400: "This link is not valid", 404: "Nothing to see here", 410: "This link has expired"}


def _page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    csrf = csrf_token_for(current_user) if current_user.is_authenticated else None
    return render_template(f"digest/{template}", csrf_token=csrf, **context), status


class LinkError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@blp.errorhandler(LinkError)
def _link_error(exc: LinkError) -> tuple[str | Response, int]:
    if request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html":
        return _page("error.html", exc.status, title=TITLES[exc.status], message=exc.message)
    errors = {"token": [exc.message]}
    body = {"code": exc.status, "status": TITLES[exc.status], "message": exc.message, "errors": errors}
    return jsonify(body), exc.status


def _payload(purpose: tokens.Purpose, token: str, *fields: str) -> dict[str, Any]:
    try:
        payload = tokens.load(purpose, token)
    except tokens.BadLink as exc:
        if exc.expired:
            raise LinkError(410, "This link has expired. Newer digests have fresh links.") from None
        raise LinkError(400, "This link is not valid (it may have been cut short by the mail program).") from None
    if not all(name in payload for name in fields):
        raise LinkError(400, "This link is not valid.")
    return payload


def _user(payload: dict[str, Any]) -> User:
    user = db.session.get(User, payload["u"]) if isinstance(payload["u"], int) else None
    if user is None:
        raise LinkError(404, "This account does not exist any more.")
    return user


def _paper(payload: dict[str, Any]) -> Paper:
    paper = paper_by_key(db.session, payload["p"]) if isinstance(payload["p"], str) else None
    if paper is None:
        raise LinkError(404, "This paper is not in the catalog any more.")
    return paper


@blp.get("/save/<path:token>", merge_slashes=False)
@no_store
def save_page(token: str) -> Any:
    """The save link of a digest: the paper and a button; nothing is saved yet."""
    payload = _payload(tokens.SAVE_LINK, token, "u", "p")
    user, paper = _user(payload), _paper(payload)
    saved = db.session.get(Save, (user.id, paper.id)) is not None
    form_token = tokens.sign(tokens.SAVE_FORM, u=user.id, p=paper.key)
    return _page("save.html", paper=paper, email=user.email, saved=saved, form_token=form_token)


@blp.post("/save")
@no_store
def save() -> Any:
    """The button of the save page: saves the paper for the digest's reader."""
    token = request.form.get("token", "")
    payload = _payload(tokens.SAVE_FORM, token, "u", "p")
    user, paper = _user(payload), _paper(payload)
    saved = db.session.get(Save, (user.id, paper.id)) is not None
    choices.record_choice(db.session, user.id, paper.id, "save", changes_state=not saved)
    return _page("saved.html", paper=paper, email=user.email)


@blp.route("/unsubscribe/<path:token>", methods=["GET", "POST"], merge_slashes=False)
@no_store
def unsubscribe(token: str) -> Any:
    """GET: ask to confirm. POST: unsubscribe, from the page's button or as RFC 8058's one-click POST
    (``List-Unsubscribe=One-Click``), which needs no confirmation."""
    user = _user(_payload(tokens.UNSUBSCRIBE, token, "u"))
    if request.method == "GET":
        setting = digest.get_settings(db.session, user.id)
        return _page("unsubscribe.html", email=user.email, active=setting.frequency != "off", token=token)
    digest.unsubscribe(db.session, user.id)
    return _page("unsubscribed.html", email=user.email)
