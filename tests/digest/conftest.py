"""A real SMTP server for the digest tests (aiosmtpd on a free loopback port), and helpers to read what it got."""

from __future__ import annotations

import email
import socket
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage
    raw: bytes


@dataclass
class MailHandler:
    """Accepts every message except for the recipients in ``refuse`` (550, as for an unknown mailbox)."""

    received: list[Received] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message, raw))
        return "250 Message accepted for delivery"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        login = (auth_data.login.decode(), auth_data.password.decode())
        self.logins.append(login)
        return AuthResult(success=login == ("digest", "s3cret/pass"))

    def to(self, address: str) -> list[EmailMessage]:
        return [r.message for r in self.received if address in r.recipients]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_smtp(**options: Any):
    """An SMTP server on 127.0.0.1 (a generator for fixtures); LOGIN/PLAIN are offered without TLS unless the
    options say otherwise (loopback only)."""
    handler = MailHandler()
    options = {"authenticator": handler.authenticate, "auth_require_tls": False, **options}
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port(), **options)
    controller.start()
    handler.port = controller.port  # type: ignore[attr-defined]
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def smtp_server():
    yield from start_smtp()


@pytest.fixture
def mail_app(app, smtp_server):
    """The app sending through the test's SMTP server, ten papers a digest."""
    app.config.update(
        SMTP_URL=f"smtp://127.0.0.1:{smtp_server.port}",
        MAIL_FROM="PaperScout <digest@paperscout.example>",
        PUBLIC_URL="http://127.0.0.1:5000",
        DIGEST_SIZE=10,
    )
    return app
