"""`flask --app server send-digests` against a real SMTP server: the message, its links, exactly-once, retries,
time zones, and nothing for a user with nothing new."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import select

from server.db import db
from server.digest.run import send_digests
from server.models import DigestDelivery
from server.services.recommendations import NO_MODEL_REASON
from tests.api.helpers import assert_error_shape, database_refuses, event

from .helpers import (
    API,
    FORM_TOKEN,
    REASON,
    SAVE_LINK,
    TITLE,
    hour_now,
    import_papers,
    parts,
    path_of,
    switch_on,
    topic_papers,
)

TOPICS = ["graph partitioning", "spectral clustering", "link prediction", "node embeddings", "random walks"]


def run(app, now: datetime | None = None):
    with app.app_context():
        return send_digests(now)


def deliveries(app) -> list[DigestDelivery]:
    with app.app_context():
        return list(db.session.scalars(select(DigestDelivery).order_by(DigestDelivery.id)))


def saved_keys(client, user) -> list[str]:
    items = client.get(f"{API}/saves", headers=user["headers"]).get_json()["items"]
    return [i["paper"]["key"] for i in items]


@pytest.fixture
def digest(mail_app, client, runner, accounts, tmp_path, smtp_server):
    """One reader's digest of five new papers, one of which they saved already: (reader, papers, message)."""
    papers = topic_papers("2611", TOPICS, kind="network")
    import_papers(runner, tmp_path, papers)
    reader = accounts.new("reader@example.org")
    client.put(f"{API}/saves/{papers[0]['key']}", headers=reader["headers"])  # known to the reader: not news
    switch_on(client, reader, "daily", "Europe/Berlin")
    result = runner.invoke(args=["send-digests"])
    assert result.exit_code == 0, result.output
    assert "1 sent, 0 failed" in result.output
    [message] = smtp_server.to("reader@example.org")
    return reader, papers, message


def test_the_digest_mail(digest, smtp_server):
    reader, papers, message = digest
    assert smtp_server.received[0].sender == "digest@paperscout.example"
    assert message["Subject"] == "PaperScout: 4 new papers for you"
    assert message["From"] == "PaperScout <digest@paperscout.example>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["MIME-Version"] == "1.0" and message["Auto-Submitted"] == "auto-generated"
    unsubscribe = re.fullmatch(r"<(http://127\.0\.0\.1:5000/digest/unsubscribe/[^>]+)>", message["List-Unsubscribe"])
    assert unsubscribe, message["List-Unsubscribe"]
    # as it is on the wire: one plain <URL>, not folded into encoded words (RFC 2369)
    assert f"\r\nList-Unsubscribe: <{unsubscribe.group(1)}>\r\n".encode() in smtp_server.received[0].raw

    text, html = parts(message)
    assert "<script" not in html.lower()
    titles = [t for _, t in TITLE.findall(html)]
    assert sorted(titles) == sorted(p["title"] for p in papers[1:])
    assert {url for url, _ in TITLE.findall(html)} == {f"https://arxiv.org/abs/{p['key'][6:]}" for p in papers[1:]}
    # no model yet: each paper says when it appeared, and that the list is not personal yet
    assert REASON.findall(html) == ["New · published 2026-11-30", NO_MODEL_REASON] * 4
    for paper in papers[1:]:
        assert paper["title"] in text and f"https://arxiv.org/abs/{paper['key'][6:]}" in text
    assert "30 Nov 2026" in text and "Ada Author1, Bo Writer" in html
    assert unsubscribe.group(1) in text and unsubscribe.group(1) in html
    save_links = SAVE_LINK.findall(html)
    assert len(save_links) == 4 and all(link in text for link in save_links)


def test_the_save_link_and_one_click_unsubscribe(digest, client):
    reader, papers, message = digest
    _, html = parts(message)
    save_links = SAVE_LINK.findall(html)
    titles = [t for _, t in TITLE.findall(html)]
    # The save link shows a page and saves nothing (a mail scanner may fetch it) ...
    link = path_of(save_links[0])
    page = client.get(link)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert page.headers["Cache-Control"] == "no-store"
    shown = titles[0]
    assert shown in page.get_data(as_text=True)
    assert saved_keys(client, reader) == [papers[0]["key"]]
    # ... the link's own token cannot save ...
    token = link.rsplit("/", 1)[1]
    assert client.post("/digest/save", data={"token": token}).status_code == 400
    # ... the page's button does.
    form_token = FORM_TOKEN.search(page.get_data(as_text=True)).group(1)
    done = client.post("/digest/save", data={"token": form_token})
    assert done.status_code == 200 and "Saved" in done.get_data(as_text=True)
    key = next(p["key"] for p in papers if p["title"] == shown)
    assert set(saved_keys(client, reader)) == {papers[0]["key"], key}
    assert client.post("/digest/save", data={"token": form_token}).status_code == 200  # twice: still one save
    assert len(saved_keys(client, reader)) == 2

    # Unsubscribe: GET asks and changes nothing; the RFC 8058 one-click POST unsubscribes at once.
    unsubscribe_path = path_of(message["List-Unsubscribe"].strip("<>"))
    assert "Unsubscribe" in client.get(unsubscribe_path).get_data(as_text=True)
    assert client.get(f"{API}/me/digest", headers=reader["headers"]).get_json()["frequency"] == "daily"
    one_click = client.post(unsubscribe_path, data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200
    setting = client.get(f"{API}/me/digest", headers=reader["headers"]).get_json()
    assert setting["frequency"] == "off" and setting["last_sent_at"] is not None
    # the export holds the setting and what was sent
    export = client.get(f"{API}/me/export", headers=reader["headers"]).get_json()
    assert export["digest"] == {"frequency": "off", "hour": setting["hour"], "timezone": "Europe/Berlin"}
    [delivery] = export["digest_deliveries"]
    assert delivery["status"] == "sent" and len(delivery["paper_keys"]) == 4


def test_links_refuse_tampering_and_age(mail_app, client, runner, accounts, tmp_path, smtp_server, monkeypatch):
    import_papers(runner, tmp_path, topic_papers("2611", TOPICS[:2], kind="network"))
    reader = accounts.new()
    switch_on(client, reader)
    run(mail_app)
    _, html = parts(smtp_server.to(reader["email"])[0])
    link = path_of(SAVE_LINK.findall(html)[0])
    token = link.rsplit("/", 1)[1]
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    page = client.get(f"/digest/save/{tampered}", headers={"Accept": "text/html"})
    assert page.status_code == 400 and "not valid" in page.get_data(as_text=True)
    assert_error_shape(client.get(f"/digest/save/{tampered}", headers={"Accept": "application/json"}), 400)
    assert_error_shape(client.post(f"/digest/unsubscribe/{token}"), 400)  # a save token does not unsubscribe
    # a save link older than PAPERSCOUT_DIGEST_LINK_DAYS has expired
    real = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) - 31 * 86400)
    with mail_app.test_request_context():
        from server.digest import tokens

        old = tokens.sign(tokens.SAVE_LINK, u=reader["id"], p="arxiv:2611.00000")
    monkeypatch.setattr(TimestampSigner, "get_timestamp", real)
    assert client.get(f"/digest/save/{old}", headers={"Accept": "text/html"}).status_code == 410
    assert saved_keys(client, reader) == []


def test_a_rerun_sends_nobody_a_second_copy_and_nothing_new_sends_nothing(
    mail_app, client, runner, accounts, tmp_path, smtp_server
):
    import_papers(runner, tmp_path, topic_papers("2611", TOPICS, kind="network"))
    alice, bob = accounts.new("alice@example.org"), accounts.new("bob@example.org")
    switch_on(client, alice, "daily", "UTC", hour=0)
    switch_on(client, bob, "weekly", "UTC", hour=0)
    now = datetime.now(UTC)
    first = run(mail_app, now)
    assert sorted(first.sent) == ["alice@example.org", "bob@example.org"]
    assert run(mail_app, now).sent == [] and run(mail_app, now + timedelta(minutes=20)).sent == []
    assert len(smtp_server.received) == 2
    assert [d.status for d in deliveries(mail_app)] == ["sent", "sent"]

    # the next day: nothing new since the last digest, so no mail at all
    tomorrow = now + timedelta(days=1)
    quiet = run(mail_app, tomorrow)
    assert quiet.sent == [] and quiet.nothing_new >= 1 and len(smtp_server.received) == 2
    # new papers: the daily reader gets just those; the weekly one waits for next week
    import_papers(runner, tmp_path, topic_papers("2612", ["motif counting"], kind="network"), "more.jsonl")
    later = run(mail_app, tomorrow)
    assert later.sent == ["alice@example.org"]
    text, _ = parts(smtp_server.to("alice@example.org")[-1])
    assert "Network study of motif counting" in text and "graph partitioning" not in text
    assert len(smtp_server.to("bob@example.org")) == 1


def test_an_smtp_refusal_for_one_user_is_recorded_and_retried_and_the_others_proceed(
    mail_app, client, runner, accounts, tmp_path, smtp_server
):
    import_papers(runner, tmp_path, topic_papers("2611", TOPICS, kind="network"))
    users = [accounts.new(f"{name}@example.org") for name in ("ann", "ben", "cat")]
    for user in users:
        switch_on(client, user, "daily", "UTC", hour=0)
    smtp_server.refuse.add("ben@example.org")

    result = runner.invoke(args=["send-digests"])
    assert result.exit_code == 1
    assert "not sent to ben@example.org: recipient refused: 550" in result.output
    assert "Traceback" not in result.output
    assert sorted(r.recipients[0] for r in smtp_server.received) == ["ann@example.org", "cat@example.org"]
    failed = [d for d in deliveries(mail_app) if d.status == "failed"]
    assert len(failed) == 1 and failed[0].user_id == users[1]["id"] and "550" in failed[0].error

    smtp_server.refuse.clear()
    again = runner.invoke(args=["send-digests"])
    assert again.exit_code == 0, again.output
    assert "1 sent, 0 failed" in again.output
    assert sorted(r.recipients[0] for r in smtp_server.received) == [
        "ann@example.org",
        "ben@example.org",
        "cat@example.org",
    ]
    retried = [d for d in deliveries(mail_app) if d.user_id == users[1]["id"]][0]
    assert (retried.status, retried.attempts, retried.error) == ("sent", 2, None)


def test_an_unreachable_server_fails_everyone_and_the_next_run_sends(
    mail_app, client, runner, accounts, tmp_path, smtp_server
):
    import_papers(runner, tmp_path, topic_papers("2611", TOPICS[:2], kind="network"))
    reader = accounts.new()
    switch_on(client, reader)
    working = mail_app.config["SMTP_URL"]
    mail_app.config["SMTP_URL"] = "smtp://127.0.0.1:9"  # nothing listens there
    result = runner.invoke(args=["send-digests"])
    assert result.exit_code == 1 and "ConnectionRefusedError" in result.output and "Traceback" not in result.output
    mail_app.config["SMTP_URL"] = working
    assert runner.invoke(args=["send-digests"]).exit_code == 0
    assert len(smtp_server.to(reader["email"])) == 1


def test_a_crash_after_the_claim_never_sends_a_second_copy(mail_app, client, runner, accounts, tmp_path, smtp_server):
    """A "sending" row is what a crash between the SMTP server's acceptance and the "sent" commit leaves."""
    import_papers(runner, tmp_path, topic_papers("2611", TOPICS[:2], kind="network"))
    reader = accounts.new()
    switch_on(client, reader, "daily", "UTC", hour=0)
    now = datetime.now(UTC)
    run(mail_app, now)
    with mail_app.app_context():
        row = db.session.scalar(select(DigestDelivery))
        row.status, row.sent_at = "sending", None
        db.session.commit()
    assert run(mail_app, now + timedelta(minutes=30)).sent == []
    assert len(smtp_server.received) == 1


def test_a_user_whose_hour_has_not_come_is_not_due(mail_app, client, runner, accounts, tmp_path, smtp_server):
    import_papers(runner, tmp_path, topic_papers("2611", TOPICS[:2], kind="network"))
    now = datetime.now(UTC)
    zones = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "Pacific/Kiritimati"]
    zone = next(z for z in zones if hour_now(z, now) < 23)
    early, late = accounts.new("early@example.org"), accounts.new("late@example.org")
    switch_on(client, early, "daily", zone, hour=hour_now(zone, now))
    switch_on(client, late, "daily", zone, hour=hour_now(zone, now) + 1)
    assert run(mail_app, now).sent == ["early@example.org"]
    an_hour_later = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    assert run(mail_app, an_hour_later).sent == ["late@example.org"]
    assert len(smtp_server.to("early@example.org")) == 1


def test_the_smtp_login_from_the_url_reaches_the_server(mail_app, client, runner, accounts, tmp_path, smtp_server):
    import_papers(runner, tmp_path, topic_papers("2611", TOPICS[:1], kind="network"))
    reader = accounts.new()
    switch_on(client, reader)
    mail_app.config["SMTP_URL"] = f"smtp://digest:s3cret%2Fpass@127.0.0.1:{smtp_server.port}"
    assert runner.invoke(args=["send-digests"]).exit_code == 0
    assert smtp_server.logins == [("digest", "s3cret/pass")] and len(smtp_server.received) == 1


def test_a_bad_smtp_url_is_one_line_without_the_password(mail_app, runner):
    for url, words in (
        ("", "PAPERSCOUT_SMTP_URL is not set"),
        ("http://host", "must start with smtp:// or smtps://"),
        ("smtp://user:hunter2@host:notaport", "not a valid URL"),
        ("smtp://user:hunter2@host?tls=1", "unknown option 'tls'"),
        ("smtps://host?starttls=1", "smtps:// is TLS already"),
        ("smtp://", "no host name"),
    ):
        mail_app.config["SMTP_URL"] = url
        result = runner.invoke(args=["send-digests"])
        assert result.exit_code == 1 and words in result.output, (url, result.output)
        assert "Traceback" not in result.output and "hunter2" not in result.output
        assert len(result.output.strip().splitlines()) == 1


def test_a_database_failure_is_one_line_and_sends_nothing(mail_app, client, runner, accounts, tmp_path, smtp_server):
    import_papers(runner, tmp_path, topic_papers("2611", TOPICS[:1], kind="network"))
    reader = accounts.new()
    switch_on(client, reader)
    with database_refuses(mail_app, "digest_deliveries", "paper_keys", "2611"):
        result = runner.invoke(args=["send-digests"])
    assert result.exit_code == 1 and "database error (IntegrityError)" in result.output, result.output
    assert "Traceback" not in result.output and smtp_server.received == [] and deliveries(mail_app) == []
    assert runner.invoke(args=["send-digests"]).exit_code == 0  # the next run sends it
    assert len(smtp_server.to(reader["email"])) == 1


def test_old_papers_that_just_entered_the_catalog_are_not_news(
    mail_app, client, runner, accounts, tmp_path, smtp_server
):
    fresh = topic_papers("2611", TOPICS[:2], kind="network")
    old = {**topic_papers("1501", ["small-world networks"], kind="network")[0], "published_at": "2015-01-05"}
    import_papers(runner, tmp_path, [*fresh, old])
    someone = accounts.new()  # opens an undated paper nobody imported: the catalog learns it from the event
    client.post(
        f"{API}/events",
        json={"events": [event("open", "arxiv:1502.00001", title="A paper of 2015")]},
        headers=someone["headers"],
    )
    reader = accounts.new()
    switch_on(client, reader)
    run(mail_app)
    text, _ = parts(smtp_server.to(reader["email"])[0])
    assert all(p["title"] in text for p in fresh)
    assert old["title"] not in text and "A paper of 2015" not in text


def test_bad_digest_settings_are_one_line(mail_app, runner):
    for name, value, words in (
        ("DIGEST_SIZE", 0, "PAPERSCOUT_DIGEST_SIZE must be between 1 and 1000"),
        ("DIGEST_LINK_DAYS", -1, "PAPERSCOUT_DIGEST_LINK_DAYS must be between 1 and 1000"),
        ("PUBLIC_URL", "paperscout.example.org", "PAPERSCOUT_PUBLIC_URL must be an http(s) URL"),
        ("MAIL_FROM", "PaperScout", "PAPERSCOUT_MAIL_FROM is not an email address"),
    ):
        saved = mail_app.config[name]
        mail_app.config[name] = value
        result = runner.invoke(args=["send-digests"])
        mail_app.config[name] = saved
        assert result.exit_code == 1 and words in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1
