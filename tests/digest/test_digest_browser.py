"""The digest in headless Chromium: the HTML mail as a mail client shows it, and its save and unsubscribe links
followed by a real browser to the running server. Screenshots go to docs/screenshots/digest/."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from server.db import db
from server.models import Paper
from tests.conftest import Accounts
from tests.e2e.conftest import BASE_ARGS, Backend, chromium_or_skip

from .helpers import import_fresh_papers, parts, trained_community

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "digest"


@pytest.fixture
def browser():
    chromium = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=BASE_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def backend(tmp_path, smtp_server):
    backend = Backend(tmp_path)
    backend.app.config.update(
        SMTP_URL=f"smtp://127.0.0.1:{smtp_server.port}",
        MAIL_FROM="PaperScout <digest@paperscout.example>",
        PUBLIC_URL=backend.url,
    )
    backend.start()
    yield backend
    backend.close()


def test_the_mail_renders_and_its_links_work_in_a_browser(backend, browser, smtp_server, tmp_path):
    runner = backend.app.test_cli_runner()
    readers, _ = trained_community(backend.app, Accounts(backend.app.test_client()), tmp_path)
    import_fresh_papers(runner, tmp_path)
    with backend.app.app_context():  # one with many authors, as real papers have
        paper = db.session.scalar(select(Paper).where(Paper.key == "arxiv:2612.00000"))
        paper.authors = [
            "Ada Lovelace",
            "Alan Turing",
            "Grace Hopper",
            "Edsger Dijkstra",
            "Barbara Liskov",
            "Donald Knuth",
            "Frances Allen",
        ]
        db.session.commit()
    reader = readers["graph"][0]
    backend.app.config["DIGEST_SIZE"] = 4
    status, _ = backend.api("PUT", "/me/digest", {"frequency": "daily", "hour": 0, "timezone": "UTC"}, reader["token"])
    assert status == 200
    result = runner.invoke(args=["send-digests"])
    assert result.exit_code == 0 and "1 sent" in result.output, result.output
    _, html = parts(smtp_server.to(reader["email"])[0])

    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 720, "height": 900})
    page.set_content(html)
    items = page.locator("td.paper")
    assert items.count() == 4
    assert "Ada Lovelace, Alan Turing, Grace Hopper, Edsger Dijkstra, Barbara Liskov, Donald Knuth et al." in (
        page.inner_text("body")
    )
    assert "New · similar to “" in items.first.inner_text()
    assert page.locator("script").count() == 0
    page.screenshot(path=str(SHOTS / "digest-email.png"), full_page=True)

    def saved_titles() -> list[str]:
        return [s["paper"]["title"] for s in backend.api("GET", "/saves", token=reader["token"])[1]["items"]]

    # The reader presses "Save" in the mail: the page asks, and only its button saves.
    first_title = page.locator("a.title").first.inner_text()
    page.locator("a.save").first.click()
    page.wait_for_load_state()
    assert page.url.startswith(f"{backend.url}/digest/save/")
    assert page.get_by_role("heading").inner_text() == first_title
    assert first_title not in saved_titles()
    page.screenshot(path=str(SHOTS / "digest-save.png"))
    page.get_by_role("button", name="Save to my papers").click()
    page.get_by_role("heading", name="Saved").wait_for()
    assert saved_titles()[0] == first_title and len(saved_titles()) == 7

    # ... and unsubscribes from the mail's footer.
    page.set_content(html)
    page.locator("a.unsubscribe").click()
    page.get_by_role("button", name="Unsubscribe").wait_for()
    page.screenshot(path=str(SHOTS / "digest-unsubscribe.png"))
    page.get_by_role("button", name="Unsubscribe").click()
    page.get_by_role("heading", name="Unsubscribed").wait_for()
    assert backend.api("GET", "/me/digest", token=reader["token"])[1]["frequency"] == "off"
