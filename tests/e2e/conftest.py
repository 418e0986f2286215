"""End-to-end fixtures: the real backend in-process, the paper sites under their real host names (sites.py),
and headless Chromium or Firefox ESR (firefox.py) with the unpacked extension (see docs/extension.md).

Everything listens on 127.0.0.1 only. The backend is reached as http://127.0.0.1:<port> (the manifest's host
permissions allow the loopback backend); the paper pages are reached as https://arxiv.org/... and so on,
which Chromium resolves to the local site server, so the content script runs exactly where the shipped
manifest lets it: on the paper sites, never on loopback pages.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.security.config import GENEROUS_RATE_LIMITS

from .firefox import MIN_FIREFOX, firefox_binary, firefox_version, launch_firefox
from .sites import SiteProxy, SiteServer

ROOT = Path(__file__).resolve().parents[2]
EXT_DIR = ROOT / "extension"
ARTIFACTS = ROOT / "test-artifacts"
DOC_SHOTS = ROOT / "docs" / "screenshots" / "extension"
MAX_DOC_SHOT_BYTES = 150_000


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def doc_screenshot(target, name: str) -> Path:
    """A screenshot of a page (its viewport) or an element for docs/extension.md, kept small."""
    DOC_SHOTS.mkdir(parents=True, exist_ok=True)
    shot = DOC_SHOTS / f"{name}.png"
    target.screenshot(path=str(shot))
    assert shot.stat().st_size < MAX_DOC_SHOT_BYTES, (shot.name, shot.stat().st_size)
    return shot


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.1, message: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {message} (last value: {last!r})")


# --------------------------------------------------------------------------- backend


class Backend:
    """The Flask app on a werkzeug server in a thread; stop() and start() keep the same port."""

    def __init__(self, tmp: Path, database_url: str | None = None) -> None:
        from server import create_app
        from server.db import upgrade_database

        self.database_url = database_url or f"sqlite:///{tmp / 'db.sqlite3'}"
        self.app = create_app(
            {
                "DATABASE_URL": self.database_url,
                "SECRET_KEY": "test",
                "MODEL_DIR": str(tmp / "models"),
                "TESTING": True,
                # The browser tests force many deliveries in a row; request limits are tested elsewhere.
                **GENEROUS_RATE_LIMITS,
            }
        )
        upgrade_database(self.app)
        self._engine = create_engine(self.database_url)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = None
        self._thread = None

    def start(self) -> None:
        from werkzeug.serving import make_server

        if self._server is not None:
            return
        self._server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.stop()
        self._engine.dispose()
        self.app.extensions["paperscout_db"].dispose()

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def api(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.url}/api/v1{path}", data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=10) as res:
                raw = res.read()
                return res.status, (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as err:
            raw = err.read()
            return err.code, (json.loads(raw) if raw else None)

    def register(self, email: str | None = None, password: str = "correct-horse-1") -> dict[str, Any]:
        email = email or f"reader-{uuid.uuid4().hex[:8]}@example.org"
        status, body = self.api("POST", "/auth/register", {"email": email, "password": password})
        assert status == 201, body
        return {"email": email, "password": password, "token": body["token"]}

    def post_events(self, token: str, events: list[dict[str, Any]]) -> dict[str, Any]:
        now = datetime.now(UTC).isoformat()
        batch = [{"id": str(uuid.uuid4()), "occurred_at": now, **e} for e in events]
        status, body = self.api("POST", "/events", {"events": batch}, token)
        assert status == 200 and not body["rejected"], body
        return body

    def query(self, sql: str, **params: Any) -> list[tuple]:
        """Read the backend's database directly (SQLAlchemy text with :named parameters)."""
        with self._engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql), params)]

    def count_interactions(self, email: str, key: str, type_: str) -> int:
        rows = self.query(
            "SELECT count(*) FROM interactions i JOIN papers p ON p.id = i.paper_id "
            "JOIN users u ON u.id = i.user_id WHERE u.email = :email AND p.key = :key AND i.type = :type",
            email=email,
            key=key,
            type=type_,
        )
        return rows[0][0]


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    b = Backend(tmp_path_factory.mktemp("backend"))
    b.start()
    yield b
    b.close()


@pytest.fixture
def backend_on(request, tmp_path):
    """Start a backend of its own on "sqlite" or "postgres" (the session's PostgreSQL test database, emptied
    first; skipped when PostgreSQL is not reachable, unless PAPERSCOUT_REQUIRE_POSTGRES=1)."""
    started: list[Backend] = []

    def start(database: str) -> Backend:
        url = None
        if database == "postgres":
            from server.models import Base

            url = request.getfixturevalue("postgres_database")
            engine = create_engine(url)
            tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            with engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            engine.dispose()
        home = tmp_path / f"backend-{database}"
        home.mkdir()
        b = Backend(home, url)
        b.start()
        started.append(b)
        return b

    yield start
    for b in started:
        b.close()


@pytest.fixture
def live_backend(backend):
    """The module's backend, guaranteed running at the start and the end of the test."""
    backend.start()
    yield backend
    backend.start()


@pytest.fixture(scope="session")
def sites(tmp_path_factory):
    """The paper sites' pages over HTTPS under their real host names (see sites.py)."""
    try:
        server = SiteServer(tmp_path_factory.mktemp("tls"))
    except RuntimeError as exc:
        if os.environ.get("PAPERSCOUT_REQUIRE_BROWSER"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    yield server
    server.close()


# --------------------------------------------------------------------------- browser + extension


class Extension:
    def __init__(self, ctx, ext_id: str) -> None:
        self.ctx = ctx
        self.id = ext_id
        self._page = None

    def url(self, path: str) -> str:
        return f"chrome-extension://{self.id}/{path}"

    @property
    def page(self):
        """An extension page (the options page) to run chrome.* calls from; it wakes the worker."""
        if self._page is None or self._page.is_closed():
            self._page = self.ctx.new_page()
            self._page.goto(self.url("options/options.html"))
        return self._page

    def storage(self, *keys: str) -> dict[str, Any]:
        return self.page.evaluate("k => chrome.storage.local.get(k.length ? k : null)", list(keys))

    def set_storage(self, values: dict[str, Any]) -> None:
        self.page.evaluate("v => chrome.storage.local.set(v)", values)

    def send(self, message: dict[str, Any]) -> Any:
        return self.page.evaluate("m => chrome.runtime.sendMessage(m)", message)

    def queue(self) -> list[dict[str, Any]]:
        return self.storage("eventQueue").get("eventQueue") or []

    def workers(self):
        return [w for w in self.ctx.service_workers if w.url.startswith(f"chrome-extension://{self.id}/")]

    def _worker_targets(self, cdp) -> list[dict[str, Any]]:
        targets = cdp.send("Target.getTargets")["targetInfos"]
        return [
            t
            for t in targets
            if t["type"] == "service_worker" and t["url"].startswith(f"chrome-extension://{self.id}/")
        ]

    def worker_running(self) -> bool:
        page = self.ctx.pages[0] if self.ctx.pages else self.ctx.new_page()
        cdp = self.ctx.new_cdp_session(page)
        try:
            return bool(self._worker_targets(cdp))
        finally:
            cdp.detach()

    def stop_worker(self) -> None:
        """Terminate the extension's service worker through CDP, as Chrome does after ~30 s idle.
        (Playwright's Worker object does not notice; the DevTools target list is the truth.)"""
        page = self.ctx.pages[0] if self.ctx.pages else self.ctx.new_page()
        cdp = self.ctx.new_cdp_session(page)
        try:
            workers = self._worker_targets(cdp)
            assert workers, "no service worker target to stop"
            for t in workers:
                cdp.send("Target.closeTarget", {"targetId": t["targetId"]})
            wait_for(lambda: not self._worker_targets(cdp), timeout=10, message="the service worker to stop")
        finally:
            cdp.detach()


BASE_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def chromium_or_skip() -> str:
    """Debian's Chromium; without it the test is skipped, or fails when PAPERSCOUT_REQUIRE_BROWSER is set."""
    chromium = _chromium()
    if chromium is None:
        if os.environ.get("PAPERSCOUT_REQUIRE_BROWSER"):
            pytest.fail("Chromium is required (PAPERSCOUT_REQUIRE_BROWSER is set) but not installed")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    return chromium


def launch_extension(profile: Path, extra_args: list[str] | None = None):
    """Yield an Extension in a fresh persistent Chromium profile (generator used by the fixtures)."""
    chromium = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(profile),
            executable_path=chromium,
            headless=True,
            ignore_https_errors=True,
            args=[f"--disable-extensions-except={EXT_DIR}", f"--load-extension={EXT_DIR}", *BASE_ARGS]
            + (extra_args or []),
        )
        try:
            sw = ctx.service_workers[0] if ctx.service_workers else ctx.wait_for_event("serviceworker")
            yield Extension(ctx, sw.url.split("/")[2])
        finally:
            ctx.close()


@pytest.fixture
def extension(tmp_path, sites):
    """The extension in a fresh profile; the paper sites' host names lead to the local site server."""
    yield from launch_extension(tmp_path / "profile", sites.chromium_args())


@pytest.fixture(scope="session")
def site_proxy(sites):
    """The proxy through which Firefox reaches the paper sites' host names (Firefox has no resolver rules)."""
    proxy = SiteProxy(sites.port)
    yield proxy
    proxy.close()


@pytest.fixture
def firefox_extension(request, tmp_path):
    """The extension as a temporary add-on in headless Firefox ESR, in a fresh profile. A test may add prefs
    with @pytest.mark.firefox_prefs({...})."""
    binary = firefox_binary()
    problem = "Firefox is not installed (apt-get install firefox-esr)" if binary is None else None
    if binary and firefox_version(binary) < MIN_FIREFOX:
        problem = f"Firefox {MIN_FIREFOX} or newer is needed (WebDriver BiDi webExtension.install); {binary} is older"
    if problem:
        if os.environ.get("PAPERSCOUT_REQUIRE_BROWSER"):
            pytest.fail(f"{problem}, and PAPERSCOUT_REQUIRE_BROWSER is set")
        pytest.skip(problem)
    marker = request.node.get_closest_marker("firefox_prefs")
    prefs = {**request.getfixturevalue("site_proxy").firefox_prefs(), **(marker.args[0] if marker else {})}
    with launch_firefox(binary, tmp_path / "firefox-profile", prefs, EXT_DIR) as ext:
        yield ext


def badge_text(page) -> str:
    """Text of the on-page save button (inside the badge's open shadow root)."""
    return page.locator("#paperscout-badge button.save").inner_text(timeout=10_000)
