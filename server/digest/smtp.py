"""The SMTP server digests go through: PAPERSCOUT_SMTP_URL parsed once, and a connection reused for a run.

``smtp://user:pass@host:587?starttls=1`` (plain SMTP, upgraded with STARTTLS), ``smtps://user:pass@host``
(TLS from the first byte, port 465 by default) or ``smtp://host:25`` (no TLS, no login: a local relay).
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import parseaddr
from urllib.parse import parse_qsl, unquote, urlsplit

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")
TIMEOUT_SECONDS = 30


class BadSmtpUrl(ValueError):
    """PAPERSCOUT_SMTP_URL cannot be used; the message is one line and never holds the password."""


class SendFailed(Exception):
    """The SMTP server did not take the message (or could not be reached); one line, for the record."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    ssl: bool  # smtps: TLS from the start
    starttls: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_url(cls, url: str) -> SmtpSettings:
        if not url.strip():
            raise BadSmtpUrl("PAPERSCOUT_SMTP_URL is not set: digests need an SMTP server (see docs/digest.md)")
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError as exc:
            raise BadSmtpUrl(f"PAPERSCOUT_SMTP_URL is not a valid URL ({_no_secret(str(exc), url)})") from None
        if parts.scheme not in DEFAULT_PORTS:
            raise BadSmtpUrl(f"PAPERSCOUT_SMTP_URL must start with smtp:// or smtps://, not {parts.scheme!r}")
        if not parts.hostname:
            raise BadSmtpUrl("PAPERSCOUT_SMTP_URL has no host name (smtp://user:pass@host:port)")
        if parts.path not in ("", "/") or parts.fragment:
            raise BadSmtpUrl("PAPERSCOUT_SMTP_URL takes no path: smtp://user:pass@host:port?starttls=1")
        starttls = _starttls(parts.query)
        if starttls and parts.scheme == "smtps":
            raise BadSmtpUrl("PAPERSCOUT_SMTP_URL: smtps:// is TLS already; starttls=1 is for smtp://")
        return cls(
            host=parts.hostname,
            port=port or DEFAULT_PORTS[parts.scheme],
            ssl=parts.scheme == "smtps",
            starttls=starttls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password is not None else None,
        )


def _starttls(query: str) -> bool:
    starttls = False
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name != "starttls":
            raise BadSmtpUrl(f"PAPERSCOUT_SMTP_URL: unknown option {name!r} (the only one is starttls=1)")
        if value.lower() not in TRUE + FALSE:
            raise BadSmtpUrl(f"PAPERSCOUT_SMTP_URL: starttls must be 1 or 0, not {value!r}")
        starttls = value.lower() in TRUE
    return starttls


def _no_secret(message: str, url: str) -> str:
    password = urlsplit(url).password if "@" in url else None
    return message.replace(password, "***") if password else message


def envelope_sender(mail_from: str) -> str:
    """The address of PAPERSCOUT_MAIL_FROM (``PaperScout <digest@example.org>`` or a bare address)."""
    address = parseaddr(mail_from)[1]
    if "@" not in address or any(c in mail_from for c in "\r\n"):
        raise BadSmtpUrl(f"PAPERSCOUT_MAIL_FROM is not an email address: {mail_from!r}")
    return address


class Mailer:
    """One SMTP connection for a run, opened at the first message and opened again after a failure."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context()
        if s.ssl:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=TIMEOUT_SECONDS, context=context)
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=TIMEOUT_SECONDS)
        try:
            smtp.ehlo()
            if s.starttls:
                smtp.starttls(context=context)
                smtp.ehlo()
            if s.username:
                smtp.login(s.username, s.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, message: EmailMessage, sender: str, recipient: str) -> None:
        """Hand the message to the server for one recipient; SendFailed unless the server accepted it."""
        try:
            if self._smtp is None:
                self._smtp = self._connect()
            self._smtp.send_message(message, from_addr=sender, to_addrs=[recipient])
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            raise SendFailed(f"recipient refused: {code} {_text(reply)}") from None
        except smtplib.SMTPResponseException as exc:
            self.close()
            raise SendFailed(f"{type(exc).__name__}: {exc.smtp_code} {_text(exc.smtp_error)}") from None
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise SendFailed(f"{type(exc).__name__}: {exc}".splitlines()[0][:300]) from None

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


def _text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())[:300]
