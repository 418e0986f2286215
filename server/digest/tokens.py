"""Signed, expiring, single-purpose tokens for the links in a digest (itsdangerous, one salt per purpose).

A save link's token only opens the confirmation page; the page's form carries a token of another purpose, and
only that one saves. So a mail scanner that follows every link in a message changes nothing. An unsubscribe
token does both (GET: the confirmation page, POST: unsubscribe), as RFC 8058's one-click POST requires.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

DAY = 24 * 3600
UNSUBSCRIBE_MAX_AGE = 400 * DAY  # a year-old digest can still be unsubscribed from
SAVE_FORM_MAX_AGE = DAY  # the confirmation page's own token: the button must be pressed within a day


@dataclass(frozen=True)
class Purpose:
    salt: str
    config_max_age: str | None = None  # the app config key in days, if configurable
    max_age: int = DAY

    def seconds(self) -> int:
        if self.config_max_age:
            return int(current_app.config[self.config_max_age]) * DAY
        return self.max_age


SAVE_LINK = Purpose("paperscout.digest.save-link", config_max_age="DIGEST_LINK_DAYS")
SAVE_FORM = Purpose("paperscout.digest.save-form", max_age=SAVE_FORM_MAX_AGE)
UNSUBSCRIBE = Purpose("paperscout.digest.unsubscribe", max_age=UNSUBSCRIBE_MAX_AGE)


class BadLink(Exception):
    def __init__(self, expired: bool) -> None:
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def _serializer(purpose: Purpose) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=purpose.salt)


def sign(purpose: Purpose, **payload: Any) -> str:
    return _serializer(purpose).dumps(payload)


def load(purpose: Purpose, token: str) -> dict[str, Any]:
    """The payload of a token signed for ``purpose`` and not older than its age; BadLink otherwise."""
    try:
        payload = _serializer(purpose).loads(token, max_age=purpose.seconds())
    except SignatureExpired:
        raise BadLink(expired=True) from None
    except BadSignature:
        raise BadLink(expired=False) from None
    if not isinstance(payload, dict):
        raise BadLink(expired=False)
    return payload
