"""End-to-end fixtures: the real backend in-process, a static server for fixture paper pages, and headless
Chromium with the unpacked extension (see the extension e2e notes in the project docs).

Everything listens on 127.0.0.1 only. The backend and the page server use different random ports; the
extension's host permissions cover http://127.0.0.1/* (any port), which is both the development backend and
this fixture host.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.security.config import GENEROUS_RATE_LIMITS

ROOT = Path(__file__).resolve().parents[2]
EXT_DIR = ROOT / "extension"
FIXTURES = ROOT / "tests" / "extension" / "fixtures"
ARTIFACTS = ROOT / "test-artifacts"


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


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

    def __init__(self, tmp: Path) -> None:
        from server import create_app
        from server.db import upgrade_database

        self.db_path = tmp / "db.sqlite3"
        self.app = create_app(
            {
                "DATABASE_URL": f"sqlite:///{self.db_path}",
                "SECRET_KEY": "test",
                "MODEL_DIR": str(tmp / "models"),
                "TESTING": True,
                **GENEROUS_RATE_LIMITS,
            }
        )
        upgrade_database(self.app)
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

    def query(self, sql: str, *params: Any) -> list[tuple]:
        con = sqlite3.connect(self.db_path, timeout=10)
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()

    def count_interactions(self, email: str, key: str, type_: str) -> int:
        rows = self.query(
            "SELECT count(*) FROM interactions i JOIN papers p ON p.id = i.paper_id "
            "JOIN users u ON u.id = i.user_id WHERE u.email = ? AND p.key = ? AND i.type = ?",
            email,
            key,
            type_,
        )
        return rows[0][0]


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    b = Backend(tmp_path_factory.mktemp("backend"))
    b.start()
    yield b
    b.stop()


@pytest.fixture
def live_backend(backend):
    """The module's backend, guaranteed running at the start and the end of the test."""
    backend.start()
    yield backend
    backend.start()


# --------------------------------------------------------------------------- fixture pages

# path on the fixture host -> fixture file. The files are modelled on the real sites' markup.
PAGES = {
    "/abs/2401.01234v3": "arxiv_abs.html",
    "/abs/hep-th/9901001v2": "arxiv_abs_old.html",
    "/article/42": "journal_doi.html",
    "/list/cs.CL/recent": "arxiv_listing.html",
    "/": "no_paper.html",
}


class _PageHandler(SimpleHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server API)
        self.send_fixture(PAGES.get(self.path.split("?", 1)[0]))

    def send_fixture(self, name: str | None) -> None:
        if name is None:
            self.send_error(404)
            return
        body = (FIXTURES / name).read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # keep test output quiet
        pass


@pytest.fixture(scope="session")
def pages():
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _PageHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


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


def launch_extension(profile: Path, extra_args: list[str] | None = None):
    """Yield an Extension in a fresh persistent Chromium profile (generator used by the fixtures)."""
    chromium = _chromium()
    if chromium is None:
        if os.environ.get("PAPERSCOUT_REQUIRE_BROWSER"):
            pytest.fail("Chromium is required (PAPERSCOUT_REQUIRE_BROWSER is set) but not installed")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
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
def extension(tmp_path):
    yield from launch_extension(tmp_path / "profile")


# --------------------------------------------------------------------------- the real sites' host names

# (host, path with query) -> fixture file; served over HTTPS on 127.0.0.1 and reached through Chromium's
# --host-resolver-rules, so the extension sees the real https://arxiv.org/... addresses. Nothing leaves
# the machine: every other host name resolves to nothing.
SITE_PAGES = {
    ("arxiv.org", "/abs/2401.01234v3"): "arxiv_abs.html",
    ("arxiv.org", "/html/2401.01234v3"): "arxiv_html.html",
    ("arxiv.org", "/abs/hep-th/9901001v2"): "arxiv_abs_old.html",
    ("arxiv.org", "/list/cs.CL/recent"): "arxiv_listing.html",
    ("huggingface.co", "/papers/2401.01234"): "huggingface_paper.html",
    ("openreview.net", "/forum?id=AbC_dEf-123"): "openreview_forum.html",
    ("www.alphaxiv.org", "/abs/2401.01234"): "alphaxiv_abs.html",
    (
        "www.semanticscholar.org",
        "/paper/Attention-is-All-you-Need-Vaswani-Shazeer/204e3073870fae3d05bcbc2f6a8e263d9b72e776",
    ): "semanticscholar_paper.html",
    ("www.semanticscholar.org", "/paper/Deep-Residual-Learning-He/2c03df8b48bf3fa39054345bafabfeff15bfd11d"): (
        "semanticscholar_doi.html"
    ),
}
SITE_HOSTS = sorted({h for h, _ in SITE_PAGES})


class _SiteHandler(_PageHandler):
    def do_GET(self):  # noqa: N802
        host = (self.headers.get("Host") or "").split(":")[0]
        self.send_fixture(SITE_PAGES.get((host, self.path)))


@pytest.fixture(scope="session")
def site_server(tmp_path_factory):
    import ssl
    import subprocess

    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a test certificate")
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=paperscout-test",
         "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
        check=True,
        capture_output=True,
    )  # fmt: skip
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _SiteHandler)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(d / "cert.pem", d / "key.pem")
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def site_extension(tmp_path, site_server):
    rules = ", ".join(f"MAP {h} 127.0.0.1:{site_server}" for h in SITE_HOSTS)
    rules += ", MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"
    yield from launch_extension(
        tmp_path / "profile",
        [f"--host-resolver-rules={rules}", "--ignore-certificate-errors", "--disable-features=HttpsUpgrades"],
    )


def badge_text(page) -> str:
    """Text of the on-page save button (inside the badge's open shadow root)."""
    return page.locator("#paperscout-badge button.save").inner_text(timeout=10_000)
