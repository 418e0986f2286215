"""The web app in headless Chromium (Debian's): a reader signs up, picks topics, reads, saves, dismisses and asks
for more like a paper; every page passes axe-core with no serious or critical violation in light and dark mode,
breaks no CSP rule, and is photographed for docs/web.md (docs/screenshots/web/)."""

from __future__ import annotations

import json
import os
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from .conftest import BASE_ARGS, ROOT, Backend, _chromium

pytestmark = pytest.mark.browser

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "docs" / "screenshots" / "web"
PASSWORD = "correct horse battery"
VIEWPORT = {"width": 960, "height": 720}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A backend with the demo catalog (as arXiv machine-learning papers), readers, and a trained model."""
    backend = Backend(tmp_path_factory.mktemp("web-backend"))
    backend.start()
    runner = backend.app.test_cli_runner()
    assert runner.invoke(args=["load-demo"]).exit_code == 0
    keys = [row[0] for row in backend.query("SELECT key FROM papers ORDER BY key")]
    announced = (datetime.now(UTC) - timedelta(days=2)).replace(tzinfo=None)
    with backend._engine.begin() as conn:
        # As arXiv's feed describes papers: a category, and (for New for you) announced this week.
        conn.execute(text("UPDATE papers SET primary_category = 'cs.LG', announced_at = :at"), {"at": announced})
    for n in range(6):
        reader = backend.register()
        mine = keys[n * 4 : n * 4 + 10]
        backend.post_events(reader["token"], [{"type": "save", "paper": {"key": k}} for k in mine])
    result = runner.invoke(args=["retrain", "--quiet"])
    assert result.exit_code == 0, result.output
    yield backend, keys
    backend.close()


@pytest.fixture(scope="module")
def browser():
    chromium = _chromium()
    problem = "Chromium is not installed (apt-get install chromium)" if chromium is None else None
    if problem is None and not AXE.exists():
        problem = "axe-core is not installed (make node-deps)"
    if problem:
        if os.environ.get("PAPERSCOUT_REQUIRE_BROWSER"):
            pytest.fail(f"{problem}, and PAPERSCOUT_REQUIRE_BROWSER is set")
        pytest.skip(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, headless=True, args=BASE_ARGS)
        yield b
        b.close()


class Reader:
    """One browser context (one cookie jar) and its page, watching for script errors and CSP violations."""

    def __init__(self, browser, base: str, scheme: str = "light") -> None:
        self.ctx = browser.new_context(viewport=VIEWPORT, color_scheme=scheme, device_scale_factor=1)
        self.page = self.ctx.new_page()
        self.base = base
        self.scheme = scheme
        self.problems: list[str] = []
        self.page.on("pageerror", lambda e: self.problems.append(f"script error: {e}"))
        self.page.on(
            "console",
            lambda m: self.problems.append(m.text) if "Content Security Policy" in m.text else None,
        )

    def go(self, path: str):
        response = self.page.goto(self.base + path)
        self.page.wait_for_load_state("networkidle")
        return response

    def check(self, name: str) -> None:
        """axe-core on the page as it is: no serious or critical violation; then a screenshot for the docs."""
        # Evaluated over DevTools, not as a <script>: the page's CSP allows no inline script, rightly.
        if not self.page.evaluate("() => typeof window.axe !== 'undefined'"):
            self.page.evaluate(AXE.read_text())
        result = self.page.evaluate(
            "async () => await axe.run(document, {resultTypes: ['violations'], "
            "runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})"
        )
        bad = [
            {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert not bad, f"{name} ({self.scheme}): {json.dumps(bad, indent=1)}"
        assert not self.problems, self.problems
        SHOTS.mkdir(parents=True, exist_ok=True)
        shot = SHOTS / f"{name}-{self.scheme}.png"
        self.page.screenshot(path=str(shot))  # the viewport only: small files for the docs
        assert shot.stat().st_size < 300_000, (shot.name, shot.stat().st_size)

    def close(self) -> None:
        self.ctx.close()


def _sign_up(reader: Reader) -> str:
    email = f"web-{uuid.uuid4().hex[:8]}@example.org"
    reader.go("/signup")
    reader.page.get_by_label("Email").fill(email)
    reader.page.get_by_label("Password", exact=True).fill(PASSWORD)
    reader.page.get_by_label("Password again").fill(PASSWORD)
    reader.page.get_by_role("button", name="Create account").click()
    reader.page.wait_for_url(re.compile(r"/welcome$"))
    return email


def test_a_new_reader_signs_up_picks_topics_and_uses_the_lists(site, browser):
    backend, keys = site
    reader = Reader(browser, backend.url)
    try:
        page = reader.page
        email = _sign_up(reader)
        page.get_by_label("Machine Learning (cs.LG)").check()
        page.get_by_label(re.compile("^Papers you like")).fill("2401.01234")
        page.get_by_role("button", name="Show my papers").click()
        page.wait_for_url(backend.url + "/")
        assert "1 topic and 1 saved paper" in page.locator(".flash").inner_text()
        first = page.locator("article.paper").first
        assert "In your topic: Machine Learning" in first.locator(".reasons").inner_text()

        # The abstract opens from the keyboard.
        summary = first.locator("summary")
        summary.focus()
        page.keyboard.press("Enter")
        assert first.locator("details").get_attribute("open") is not None

        # Save through the script: the button changes in place, no navigation, the save is stored.
        key = first.get_attribute("data-key")
        save = first.locator("form[data-enhance=save] button")
        save.click()
        page.wait_for_function("b => b.getAttribute('aria-pressed') === 'true'", arg=save.element_handle())
        assert page.url == backend.url + "/" and save.inner_text().startswith("Saved")
        assert backend.query(
            "SELECT count(*) FROM saves s JOIN papers p ON p.id = s.paper_id JOIN users u ON u.id = s.user_id "
            "WHERE u.email = :e AND p.key = :k",
            e=email,
            k=key,
        ) == [(1,)]

        # More like this: similar papers under the paper, as links to their pages.
        first.locator("a[data-similar]").click()
        inline = first.locator(".similar-inline")
        inline.locator("li a").first.wait_for()
        assert inline.locator("li a").count() >= 1
        assert first.locator("a[data-similar]").get_attribute("aria-expanded") == "true"

        # Dismiss the second paper: it is marked and can be undone.
        second = page.locator("article.paper").nth(1)
        second.locator("form[data-enhance=dismiss] button").click()
        page.wait_for_function("a => a.classList.contains('dismissed')", arg=second.element_handle())
        assert second.locator("form[data-enhance=dismiss] button").inner_text().startswith("Undo dismiss")
        assert reader.problems == []
    finally:
        reader.close()


PUBLIC_PAGES = {
    "landing": "/",
    "sign-in": "/signin",
    "sign-up": "/signup",
    "trending": "/trending",
    "search": "/search?q=learning",
    "not-found": "/no/such/page",
}
PERSONAL_PAGES = {
    "welcome": "/welcome",
    "for-you": "/",
    "new-for-you": "/new",
    "saved": "/saved",
    "settings": "/settings",
}


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_passes_axe_and_is_photographed(site, browser, scheme):
    backend, keys = site
    anonymous = Reader(browser, backend.url, scheme)
    try:
        for name, path in PUBLIC_PAGES.items():
            response = anonymous.go(path)
            assert response.status == (404 if name == "not-found" else 200), name
            anonymous.check(name)
        anonymous.go(f"/papers/{keys[0]}")
        anonymous.check("paper")
    finally:
        anonymous.close()
    reader = Reader(browser, backend.url, scheme)
    try:
        _sign_up(reader)
        reader.check("welcome")
        reader.page.get_by_label("Machine Learning (cs.LG)").check()
        reader.page.get_by_role("button", name="Show my papers").click()
        reader.page.wait_for_url(backend.url + "/")
        for key in keys[:3]:
            reader.page.request.post(
                f"{backend.url}/papers/{key}/save",
                form={"csrf_token": reader.page.locator("input[name=csrf_token]").first.input_value()},
                headers={"Origin": backend.url},
            )
        for name, path in PERSONAL_PAGES.items():
            if name == "welcome":
                continue
            assert reader.go(path).status == 200, name
            reader.check(name)
    finally:
        reader.close()


BAD_BIBTEX = b"@article{broken,\n  title = {Unclosed,\n  year = 2020\n"


def _library(keys: list[str]) -> bytes:
    """A reference manager's BibTeX export: a paper of the catalog, one it lacks, and one without identifier."""
    known = next(k for k in keys if k.startswith("arxiv:")).removeprefix("arxiv:")
    return (
        f"@misc{{known, title = {{A paper of the catalog}}, eprint = {{{known}}}, archivePrefix = {{arXiv}}}}\n"
        "@misc{fresh, title = {Sparse Mixtures of Graph Experts}, author = {Doe, Jane}, year = {2025},\n"
        "  eprint = {2501.04242}, archivePrefix = {arXiv}, primaryClass = {cs.LG}}\n"
        "@book{noid, title = {A book without identifier}, year = {1999}}\n"
    ).encode()


def _attach(page, label: str, name: str, body: bytes) -> None:
    page.get_by_label(re.compile(label)).set_input_files(
        files=[{"name": name, "mimeType": "application/x-bibtex", "buffer": body}]
    )


def _show(reader: Reader, section: str) -> None:
    """The section at the top of the viewport, for its screenshot."""
    reader.page.evaluate("id => document.getElementById(id).scrollIntoView()", section)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_onboarding_import_and_the_settings_sections(site, browser, scheme):
    """Onboarding from a BibTeX file, then the digest, feeds, export and import sections, each through its form,
    each passing axe-core and photographed."""
    backend, keys = site
    reader = Reader(browser, backend.url, scheme)
    try:
        page = reader.page
        email = _sign_up(reader)
        _attach(page, "^Or import a BibTeX file", "broken.bib", BAD_BIBTEX)
        page.get_by_role("button", name="Show my papers").click()
        page.locator("#import-file-error").wait_for()
        assert "cannot be parsed" in page.locator("#import-file-error").inner_text()
        _show(reader, "papers")
        reader.check("welcome-bad-file")
        _attach(page, "^Or import a BibTeX file", "library.bib", _library(keys))
        page.get_by_role("button", name="Show my papers").click()
        page.wait_for_url(backend.url + "/")
        assert "2 saved papers" in page.locator(".flash").inner_text()

        reader.go("/settings#digest")
        page.get_by_role("radio", name="Daily").check()
        page.get_by_label("From this hour").select_option("7")
        page.get_by_label("In the time zone").select_option("Europe/Berlin")
        page.get_by_role("button", name="Save digest setting").click()
        page.wait_for_url(re.compile(r"/settings#digest$"))
        assert "every day from 07:00 (Europe/Berlin)" in page.locator(".flash").inner_text()
        assert backend.query(
            "SELECT d.frequency, d.hour, d.timezone FROM digest_settings d JOIN users u ON u.id = d.user_id "
            "WHERE u.email = :e",
            e=email,
        ) == [("daily", 7, "Europe/Berlin")]
        reader.check("settings-digest")

        reader.go("/settings#feeds")
        before = page.get_by_label("Saved", exact=True).input_value()
        page.get_by_role("button", name="Copy the Saved feed address").click()
        page.wait_for_function("() => /Copied|Selected/.test(document.getElementById('live').textContent)")
        reader.check("settings-feeds")
        page.get_by_role("checkbox", name=re.compile("stop the addresses above")).check()
        page.get_by_role("button", name="New feed addresses").click()
        page.wait_for_url(re.compile(r"/settings#feeds$"))
        assert page.get_by_label("Saved", exact=True).input_value() != before

        reader.go("/settings#export")
        with page.expect_download() as download:
            page.get_by_role("link", name="BibTeX (.bib)").click()
        assert download.value.suggested_filename == "paperscout-saves.bib"
        assert "2501.04242" in open(download.value.path(), encoding="utf-8").read()
        reader.check("settings-export")

        reader.go("/settings#import")
        _attach(page, "^Reference file", "library.bib", _library(keys))
        page.get_by_role("button", name="Import", exact=True).click()
        page.get_by_role("heading", name=re.compile("^Imported 3 entries")).wait_for()
        assert "2 matched, 0 created, 1 skipped." in page.locator(".report").inner_text()
        _show(reader, "import")
        reader.check("settings-import")
        _attach(page, "^Reference file", "broken.bib", BAD_BIBTEX)
        page.get_by_role("button", name="Import", exact=True).click()
        page.locator("#import-file-error").wait_for()
        _show(reader, "import")
        reader.check("settings-import-error")
    finally:
        reader.close()
