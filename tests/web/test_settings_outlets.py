"""The settings sections that take the list elsewhere (digest, feeds, export, import) and onboarding's import, on
the real app (SQLite and PostgreSQL): each form stores through the same services as the API, refuses a missing
CSRF token, and turns bad input into a page with the error and nothing stored."""

from __future__ import annotations

import io
import re

import bibtexparser
import feedparser
from sqlalchemy import func, select

from server.db import db
from server.models import DigestSetting, Paper, Save, User
from tests.web.helpers import HTML, csrf_of, errors_of, sign_up
from tests.web.test_web_forms import PAPER, add_paper

BIBTEX = b"""@misc{vaswani2017,
  title = {Attention Is All You Need},
  author = {Vaswani, Ashish and Shazeer, Noam},
  year = {2017},
  eprint = {1706.03762},
  archivePrefix = {arXiv},
  primaryClass = {cs.CL}
}
@article{known,
  title = {Attention for graphs},
  author = {Author, A.},
  year = {2024},
  eprint = {2401.01234},
  archivePrefix = {arXiv}
}
@book{noid,
  title = {A book without any identifier},
  author = {Writer, B.},
  year = {1999}
}
"""
BROKEN = b"@article{broken,\n  title = {Unclosed,\n  year = 2020\n"
FEED_URL = re.compile(r'id="feed-([a-z-]+)" type="url" value="([^"]+)"')


def counts(app) -> tuple[int, int]:
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (Paper, Save))


def digest_row(app) -> DigestSetting | None:
    with app.app_context():
        row = db.session.scalars(select(DigestSetting)).first()
        if row is not None:
            db.session.expunge(row)
        return row


def upload(client, path: str, body: bytes, name: str = "library.bib", **fields):
    data = {**fields, "file": (io.BytesIO(body), name)}
    return client.post(path, data=data, content_type="multipart/form-data", headers=HTML)


def test_the_settings_page_shows_the_new_sections(client):
    sign_up(client)
    page = client.get("/settings").text
    for section in ("digest", "feeds", "export", "import"):
        assert f'<section id="{section}"' in page, section
    assert 'name="frequency" value="off" checked' in page  # off until the reader chooses
    assert '<option value="8" selected>08:00</option>' in page and "<option selected>UTC</option>" in page
    assert {name for name, _ in FEED_URL.findall(page)} == {"for-you", "new", "saved"}


def test_the_digest_form_switches_it_on_and_off(client, app):
    token = sign_up(client)
    on = {"csrf_token": token, "frequency": "weekly", "hour": "7", "timezone": "Europe/Berlin"}
    response = client.post("/settings/digest", data=on)
    assert response.status_code == 303 and response.headers["Location"].endswith("/settings#digest")
    row = digest_row(app)
    assert (row.frequency, row.hour, row.timezone) == ("weekly", 7, "Europe/Berlin")
    page = client.get("/settings").text
    assert "every Monday from 07:00 (Europe/Berlin)" in page
    assert 'value="weekly" checked' in page and "<option selected>Europe/Berlin</option>" in page
    # The API reads what the form stored: one setting, two ways in.
    assert client.get("/api/v1/me/digest").get_json()["frequency"] == "weekly"
    client.post("/settings/digest", data={**on, "frequency": "off"})
    assert digest_row(app).frequency == "off" and "The digest email is off." in client.get("/settings").text


def test_the_digest_form_refuses_bad_values_and_stores_nothing(client, app):
    token = sign_up(client)
    bad = {"csrf_token": token, "frequency": "hourly", "hour": "25", "timezone": "Mars/Olympus"}
    response = client.post("/settings/digest", data=bad)
    assert response.status_code == 422
    errors = " ".join(errors_of(response.text))
    assert "Must be one of" in errors and "Mars/Olympus" in errors and "less than or equal to 23" in errors
    assert 'aria-invalid="true"' in response.text
    assert digest_row(app) is None
    missing = client.post("/settings/digest", data={"csrf_token": token, "hour": "x", "timezone": "UTC"})
    assert missing.status_code == 422 and digest_row(app) is None


def test_feed_urls_work_and_rotation_needs_confirmation(client):
    token = sign_up(client)
    urls = dict(FEED_URL.findall(client.get("/settings").text))
    saved = client.get(urls["saved"].replace("http://localhost", ""))
    assert saved.status_code == 200 and feedparser.parse(saved.data).feed.title.endswith("Saved")
    unconfirmed = client.post("/settings/feeds/rotate", data={"csrf_token": token})
    assert unconfirmed.status_code == 422 and "Tick the box to confirm." in errors_of(unconfirmed.text)
    assert dict(FEED_URL.findall(client.get("/settings").text)) == urls
    rotated = client.post("/settings/feeds/rotate", data={"csrf_token": token, "confirm": "yes"})
    assert rotated.status_code == 303
    fresh = dict(FEED_URL.findall(client.get("/settings").text))
    assert fresh.keys() == urls.keys() and not set(fresh.values()) & set(urls.values())
    assert client.get(urls["saved"].replace("http://localhost", "")).status_code == 404
    assert client.get(fresh["saved"].replace("http://localhost", "")).status_code == 200


def test_export_downloads(client, app):
    add_paper(app)
    token = sign_up(client)
    client.post(f"/papers/{PAPER}/save", data={"csrf_token": token})
    page = client.get("/settings").text
    for fmt in ("bibtex", "csv", "json"):
        assert f'href="/settings/export.{fmt}"' in page
    bib = client.get("/settings/export.bibtex")
    assert bib.status_code == 200 and bib.mimetype == "application/x-bibtex"
    assert 'filename="paperscout-saves.bib"' in bib.headers["Content-Disposition"]
    entry = bibtexparser.parse_string(bib.get_data(as_text=True)).entries[0]
    assert entry.fields_dict["eprint"].value == "2401.01234"
    assert "Attention for graphs" in client.get("/settings/export.csv").get_data(as_text=True)
    assert client.get("/settings/export.json").get_json()["saves"][0]["key"] == PAPER
    assert client.get("/settings/export.xml", headers=HTML).status_code == 404
    client.post("/signout", data={"csrf_token": csrf_of(client)})
    assert client.get("/settings/export.bibtex").status_code == 302  # to the sign-in page


def test_import_shows_the_report(client, app):
    add_paper(app)
    token = sign_up(client)
    response = upload(client, "/settings/import", BIBTEX, csrf_token=token)
    assert response.status_code == 200, errors_of(response.text)
    text = re.sub(r"\s+", " ", response.text)
    assert "Imported 3 entries (bibtex): 2 newly saved" in text
    assert "1 matched, 1 created, 1 skipped." in text
    assert 'Attention Is All You Need <span class="code">(arxiv:1706.03762)' in text
    assert "Entry 3 “noid”: no arXiv id, DOI or paper URL of a known site" in text
    with app.app_context():
        keys = set(db.session.scalars(select(Paper.key).join(Save, Save.paper_id == Paper.id)))
    assert keys == {PAPER, "arxiv:1706.03762"}


def test_a_bad_import_file_shows_the_parse_error_and_stores_nothing(client, app):
    token = sign_up(client)
    before = counts(app)
    broken = upload(client, "/settings/import", BROKEN, csrf_token=token)
    assert broken.status_code == 400
    assert any("cannot be parsed" in e and "Nothing was imported." in e for e in errors_of(broken.text))
    binary = upload(client, "/settings/import", b"\xff\xfe\x00junk", "x.bib", csrf_token=token)
    assert binary.status_code == 400 and "not UTF-8" in " ".join(errors_of(binary.text))
    empty = upload(client, "/settings/import", b"  \n", csrf_token=token)
    assert empty.status_code == 400 and "The file is empty. Nothing was imported." in errors_of(empty.text)
    none = client.post("/settings/import", data={"csrf_token": token}, content_type="multipart/form-data")
    assert none.status_code == 400 and "Choose a file to import." in errors_of(none.text)
    app.config["IMPORT_MAX_BYTES"] = 100
    large = upload(client, "/settings/import", BIBTEX, csrf_token=token)
    assert large.status_code == 413 and "larger than" in " ".join(errors_of(large.text))
    assert counts(app) == before


def test_every_new_form_refuses_a_missing_or_forged_csrf_token(client, app):
    sign_up(client)
    before = counts(app)
    forms = [
        ("/settings/digest", {"frequency": "daily", "hour": "8", "timezone": "UTC"}),
        ("/settings/feeds/rotate", {"confirm": "yes"}),
    ]
    urls = dict(FEED_URL.findall(client.get("/settings").text))
    for token in (None, "forged"):
        extra = {"csrf_token": token} if token else {}
        for path, data in forms:
            response = client.post(path, data={**data, **extra}, headers=HTML)
            assert response.status_code == 403 and "This form had expired" in response.text, path
        refused = upload(client, "/settings/import", BIBTEX, **extra)
        assert refused.status_code == 403
        welcome = upload(client, "/welcome", BIBTEX, **extra)
        assert welcome.status_code == 403
    assert digest_row(app) is None and counts(app) == before
    assert dict(FEED_URL.findall(client.get("/settings").text)) == urls


def test_onboarding_imports_a_bibtex_file(client, app):
    add_paper(app)
    token = sign_up(client)
    response = upload(client, "/welcome", BIBTEX, csrf_token=token, topics="cs.LG")
    assert response.status_code == 303, errors_of(response.text)
    assert "1 topic and 2 saved papers" in client.get("/").text
    with app.app_context():
        user = db.session.scalars(select(User)).one()
        assert db.session.scalar(select(func.count()).select_from(Save).where(Save.user_id == user.id)) == 2


def test_onboarding_with_a_bad_file_stores_nothing(client, app):
    token = sign_up(client)
    before = counts(app)
    response = upload(client, "/welcome", BROKEN, csrf_token=token, topics="cs.LG", papers="2401.05678")
    assert response.status_code == 400
    assert any("cannot be parsed" in e for e in errors_of(response.text))
    assert "2401.05678" in response.text and 'value="cs.LG" checked' in response.text  # the form keeps its values
    assert counts(app) == before
    assert 'value="cs.LG" checked' not in client.get("/settings").text  # no topic stored either
