"""The digest's small parts: periods in the reader's time zone, and reading PAPERSCOUT_SMTP_URL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from server.digest.smtp import BadSmtpUrl, SmtpSettings, envelope_sender
from server.services.digest import current_period

WEDNESDAY = datetime(
    2026, 12, 2, 6, 30, tzinfo=UTC
)  # 07:30 in Berlin, 15:30 in Tokyo, 20:30 the day before in Honolulu


@pytest.mark.parametrize(
    ("frequency", "hour", "zone", "key", "send_at"),
    [
        ("daily", 8, "Europe/Berlin", "2026-12-02", datetime(2026, 12, 2, 7, 0, tzinfo=UTC)),  # not yet due
        ("daily", 7, "Europe/Berlin", "2026-12-02", datetime(2026, 12, 2, 6, 0, tzinfo=UTC)),  # due
        ("daily", 9, "Asia/Tokyo", "2026-12-02", datetime(2026, 12, 2, 0, 0, tzinfo=UTC)),
        ("daily", 21, "Pacific/Honolulu", "2026-12-01", datetime(2026, 12, 2, 7, 0, tzinfo=UTC)),
        ("weekly", 8, "Europe/Berlin", "2026-W49", datetime(2026, 11, 30, 7, 0, tzinfo=UTC)),  # Monday's
        ("weekly", 0, "UTC", "2026-W49", datetime(2026, 11, 30, 0, 0, tzinfo=UTC)),
    ],
)
def test_the_period_is_the_local_day_or_iso_week(frequency, hour, zone, key, send_at):
    period = current_period(frequency, hour, zone, WEDNESDAY)
    assert (period.key, period.send_at) == (key, send_at)


def test_iso_weeks_cross_years_and_summer_time_moves_the_utc_hour():
    assert current_period("weekly", 8, "UTC", datetime(2027, 1, 1, 12, tzinfo=UTC)).key == "2026-W53"
    summer = current_period("daily", 8, "Europe/Berlin", datetime(2026, 7, 1, 12, tzinfo=UTC))
    assert summer.send_at == datetime(2026, 7, 1, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.org", ("mail.example.org", 25, False, False, None, None)),
        ("smtp://u%40x:p%3Aw@mail.example.org:587?starttls=1", ("mail.example.org", 587, False, True, "u@x", "p:w")),
        ("smtps://user:pw@mail.example.org", ("mail.example.org", 465, True, False, "user", "pw")),
        ("smtp://[::1]:2525?starttls=0", ("::1", 2525, False, False, None, None)),
    ],
)
def test_smtp_urls(url, expected):
    s = SmtpSettings.from_url(url)
    assert (s.host, s.port, s.ssl, s.starttls, s.username, s.password) == expected
    assert s.password is None or s.password not in repr(s)  # never in a log line


@pytest.mark.parametrize(
    "url", ["", "smtp://", "ftp://host", "smtp://host/path", "smtp://host?starttls=maybe", "smtp://h:99999"]
)
def test_bad_smtp_urls(url):
    with pytest.raises(BadSmtpUrl):
        SmtpSettings.from_url(url)


def test_the_sender_must_be_an_address():
    assert envelope_sender("PaperScout <digest@example.org>") == "digest@example.org"
    for bad in ("PaperScout", "a@b\r\nBcc: x@y"):
        with pytest.raises(BadSmtpUrl):
            envelope_sender(bad)
