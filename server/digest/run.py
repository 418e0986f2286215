"""One run of the digest: every due user gets the papers new since their last digest, ranked for them, in one
message; the run goes on to the next user only once this one's outcome is committed.

Exactly once. Each delivery is first committed as "sending" (unique per user and period), then handed to the
SMTP server, then committed as "sent", or as "failed" when the server refused it or could not be reached. A
failed one is taken over again by a later run of the same period (up to MAX_ATTEMPTS). A "sending" row is
never sent again: it means the process died between the claim and the outcome, and if it died after the SMTP
server had accepted the message, sending again would be a second copy. So a crash in that instant costs the
reader at most that one digest (the next period's starts where it would have ended), never gives them two.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask import Flask, current_app

from server.db import db
from server.digest import message
from server.digest.smtp import BadSmtpUrl, Mailer, SendFailed, SmtpSettings, envelope_sender
from server.services import digest
from server.services.recommendations import rank_new_papers

logger = logging.getLogger("server.digest")
MAX_SETTING = 1000  # papers in a digest, days a save link lives


@dataclass
class RunSummary:
    sent: list[str] = field(default_factory=list)  # the recipients' addresses
    failed: list[tuple[str, str]] = field(default_factory=list)  # (address, one-line reason)
    nothing_new: int = 0  # due, but no paper new for them: no mail
    taken: int = 0  # another run holds the period

    def line(self) -> str:
        return (
            f"digests: {len(self.sent)} sent, {len(self.failed)} failed (retried at the next run), "
            f"{self.nothing_new} with nothing new"
        )


class DigestConfigError(ValueError):
    """The SMTP URL, the sender or the public URL cannot be used (one line)."""


@dataclass(frozen=True)
class _Setup:
    smtp: SmtpSettings
    mail_from: str
    sender: str
    links: message.Links
    size: int


def _setup() -> _Setup:
    config = current_app.config
    try:
        smtp = SmtpSettings.from_url(config["SMTP_URL"])
        sender = envelope_sender(config["MAIL_FROM"])
        links = message.Links.from_config()
    except (BadSmtpUrl, message.BadPublicUrl) as exc:
        raise DigestConfigError(str(exc)) from None
    for name in ("DIGEST_SIZE", "DIGEST_LINK_DAYS"):
        if not 1 <= int(config[name]) <= MAX_SETTING:
            raise DigestConfigError(f"PAPERSCOUT_{name} must be between 1 and {MAX_SETTING}, not {config[name]}")
    return _Setup(smtp, config["MAIL_FROM"], sender, links, int(config["DIGEST_SIZE"]))


def send_digests(now: datetime | None = None, stop: threading.Event | None = None) -> RunSummary:
    """Send every due digest (in an app context); DigestConfigError before anything when misconfigured. A set
    ``stop`` ends the run after the current user (the others are still due at the next run)."""
    setup = _setup()
    now = now or datetime.now(UTC)
    session = db.session
    summary = RunSummary()
    with Mailer(setup.smtp) as mailer:
        for due in digest.due_users(session, now):
            if stop is not None and stop.is_set():
                break
            _deliver(setup, mailer, due, now, summary)
    return summary


def _deliver(setup: _Setup, mailer: Mailer, due: digest.Due, now: datetime, summary: RunSummary) -> None:
    session = db.session
    user = due.user
    since = digest.window_start(session, user.id, due.period, now)
    candidates = digest.new_papers(session, since, now)
    ranked = rank_new_papers(session, user, candidates, window="7d", limit=setup.size).items if candidates else []
    if not ranked:
        summary.nothing_new += 1
        return
    shown = [r.paper.key for r in ranked]
    delivery = digest.claim(session, due, since, now, shown, message.message_id(setup.links))
    if delivery is None:
        summary.taken += 1
        return
    try:
        mail = message.compose(
            user=user,
            frequency=due.setting.frequency,
            items=ranked,
            mail_from=setup.mail_from,
            msg_id=delivery.message_id,
            now=now,
            links=setup.links,
        )
        mailer.send(mail, setup.sender, user.email)
    except SendFailed as exc:
        digest.mark_failed(session, delivery, str(exc))
        summary.failed.append((user.email, str(exc)))
        logger.warning("digest for user %s not sent: %s", user.id, exc)
        return
    except Exception as exc:  # nothing reached the server: safe to retry, and the others still get theirs
        logger.exception("digest for user %s could not be composed", user.id)
        digest.mark_failed(session, delivery, f"{type(exc).__name__} while composing the message")
        summary.failed.append((user.email, type(exc).__name__))
        return
    digest.mark_sent(session, delivery, datetime.now(UTC))
    summary.sent.append(user.email)


def scheduled_digests(app: Flask, stop: threading.Event) -> None:
    """The scheduler's digest job: one run, logged; a failure never stops the scheduler."""
    with app.app_context():
        try:
            summary = send_digests(stop=stop)
        except DigestConfigError as exc:
            logger.error("scheduler: digests not sent: %s", exc)
            return
        except Exception:  # noqa: BLE001 - the next run starts afresh; claimed rows keep their state
            logger.exception("scheduler: the digest run failed")
            return
    logger.info("scheduler: %s", summary.line())
