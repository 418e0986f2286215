"""The digest message: multipart text and HTML from templates, with signed save and unsubscribe links and
the List-Unsubscribe headers of RFC 2369 and RFC 8058."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from typing import Any
from urllib.parse import quote, urlsplit

from flask import current_app, render_template

from server.api.serialize import shown_url
from server.digest import tokens
from server.models import Paper, User
from server.services.recommendations import RankedPaper

# The message's headers are never folded into RFC 2047 encoded words: List-Unsubscribe must stay a plain <URL>
# (RFC 2369), and a signed URL is one long token. Its parts keep SMTP's 78: quoted-printable lines of 76.
HEADERS_POLICY = SMTP.clone(max_line_length=998)
MAX_AUTHORS = 6
ABSTRACT_CHARS = 320


class BadPublicUrl(ValueError):
    pass


@dataclass(frozen=True)
class Links:
    """Absolute URLs under PAPERSCOUT_PUBLIC_URL, built from the app's own routes."""

    base: str

    @classmethod
    def from_config(cls) -> Links:
        base = str(current_app.config["PUBLIC_URL"]).strip().rstrip("/")
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise BadPublicUrl(
                f"PAPERSCOUT_PUBLIC_URL must be an http(s) URL such as https://paperscout.example.org, not {base!r}"
            )
        return cls(base)

    def build(self, endpoint: str, **values: Any) -> str:
        parts = urlsplit(self.base)
        adapter = current_app.url_map.bind(parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme)
        return adapter.build(endpoint, values, force_external=True)

    def paper(self, paper: Paper) -> str:
        return shown_url(paper.key, paper.url) or f"{self.base}/api/v1/papers/{quote(paper.key, safe=':')}"


def message_id(links: Links) -> str:
    return make_msgid("digest", domain=urlsplit(links.base).hostname)


def paper_date(paper: Paper) -> datetime:
    return paper.published_at or paper.announced_at or paper.created_at


def _date(at: datetime) -> str:
    return f"{at.day} {at:%b %Y}"


def _authors(paper: Paper) -> str:
    names = [str(a) for a in paper.authors or []]
    return ", ".join(names[:MAX_AUTHORS]) + (" et al." if len(names) > MAX_AUTHORS else "")


def _abstract(paper: Paper) -> str:
    text = " ".join((paper.abstract or "").split())
    return text if len(text) <= ABSTRACT_CHARS else text[: ABSTRACT_CHARS - 1].rsplit(" ", 1)[0] + "…"


def _item(links: Links, user: User, ranked: RankedPaper) -> dict[str, Any]:
    paper = ranked.paper
    return {
        "title": paper.title or paper.key,
        "key": paper.key,
        "url": links.paper(paper),
        "date": _date(paper_date(paper)),
        "authors": _authors(paper),
        "abstract": _abstract(paper),
        "reasons": list(ranked.reasons) or ["New since your last digest"],
        "save_url": links.build("digest.save_page", token=tokens.sign(tokens.SAVE_LINK, u=user.id, p=paper.key)),
    }


def compose(
    *,
    user: User,
    frequency: str,
    items: list[RankedPaper],
    mail_from: str,
    msg_id: str,
    now: datetime,
    links: Links,
) -> EmailMessage:
    """The digest for ``user``: one entry per paper, best first."""
    unsubscribe = links.build("digest.unsubscribe", token=tokens.sign(tokens.UNSUBSCRIBE, u=user.id))
    noun = "paper" if len(items) == 1 else "papers"
    context = {
        "items": [_item(links, user, r) for r in items],
        "frequency": frequency,
        "period": "today" if frequency == "daily" else "this week",
        "unsubscribe_url": unsubscribe,
        "settings_url": links.base + "/",
        "subject": f"PaperScout: {len(items)} new {noun} for you",
        "email": user.email,
    }
    message = EmailMessage(policy=HEADERS_POLICY)
    message["MIME-Version"] = "1.0"
    message["Subject"] = context["subject"]
    message["From"] = mail_from
    message["To"] = user.email
    message["Date"] = format_datetime(now)
    message["Message-ID"] = msg_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a digest
    message["List-Unsubscribe"] = f"<{unsubscribe}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.make_alternative()
    for template, subtype in (("digest/mail.txt", "plain"), ("digest/mail.html", "html")):
        part = EmailMessage(policy=SMTP)
        part.set_content(render_template(template, **context), subtype=subtype, cte="quoted-printable")
        message.attach(part)
    return message
