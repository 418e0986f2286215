"""The paper sites under their real host names, served locally.

Site-shaped fixture pages are served over HTTPS (a self-signed certificate made for the test run) on
127.0.0.1, and Chromium reaches them through --host-resolver-rules, Firefox through SiteProxy (an HTTP proxy
that tunnels CONNECT arxiv.org:443 and the other site hosts to that server), so the content script runs on
https://arxiv.org/... exactly as the shipped manifest allows. Every other host name resolves to nothing (or
is refused by the proxy): no test reaches the internet.
"""

from __future__ import annotations

import contextlib
import select
import shutil
import socket
import socketserver
import ssl
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "extension" / "fixtures"

# (host, path with query) -> fixture file; the files are modelled on the real sites' markup.
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

# Pages made up for single tests: (host, path) -> HTML.
GENERATED_PAGES: dict[tuple[str, str], str] = {}

_ARXIV_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>[{id}] {title}</title>
<meta name="citation_title" content="{title}">
<meta name="citation_author" content="Reader, Ada">
<meta name="citation_arxiv_id" content="{id}">
{script}</head><body><h1>{title}</h1></body></html>
"""


def add_arxiv_page(arxiv_id: str, title: str, script: str = "") -> str:
    """Serve an arXiv abstract page for this id; returns its https address."""
    GENERATED_PAGES[("arxiv.org", f"/abs/{arxiv_id}")] = _ARXIV_PAGE.format(id=arxiv_id, title=title, script=script)
    return f"https://arxiv.org/abs/{arxiv_id}"


def add_page(host: str, path: str, html: str) -> str:
    GENERATED_PAGES[(host, path)] = html
    return f"https://{host}{path}"


SITE_HOSTS = ["arxiv.org", "huggingface.co", "openreview.net", "www.alphaxiv.org", "www.semanticscholar.org"]


class _SiteHandler(SimpleHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server API)
        host = (self.headers.get("Host") or "").split(":")[0]
        name = SITE_PAGES.get((host, self.path))
        if name is not None:
            self._send((FIXTURES / name).read_bytes())
        elif (host, self.path) in GENERATED_PAGES:
            self._send(GENERATED_PAGES[(host, self.path)].encode())
        else:
            self.send_error(404)

    def _send(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # keep test output quiet
        pass


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for the site hosts (Chromium runs with --ignore-certificate-errors)."""
    if not shutil.which("openssl"):
        raise RuntimeError("openssl is needed to make the test certificate (apt-get install openssl)")
    cert, key = directory / "cert.pem", directory / "key.pem"
    names = ",".join(f"DNS:{h}" for h in SITE_HOSTS)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=paperscout-test",
         "-addext", f"subjectAltName={names}", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


class SiteServer:
    """The HTTPS server for every site host, on a random loopback port."""

    def __init__(self, tls_dir: Path) -> None:
        cert, key = make_certificate(tls_dir)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _SiteHandler)
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(cert, key)
        self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def chromium_args(self) -> list[str]:
        """Map the real host names to this server; everything else except loopback resolves to nothing."""
        rules = ", ".join(f"MAP {h} 127.0.0.1:{self.port}" for h in SITE_HOSTS)
        rules += ", MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"
        return [f"--host-resolver-rules={rules}", "--ignore-certificate-errors", "--disable-features=HttpsUpgrades"]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _TunnelHandler(socketserver.StreamRequestHandler):
    """One proxy connection: `CONNECT <site host>:443` is tunnelled to the site server, anything else refused."""

    def handle(self) -> None:
        request = self.rfile.readline(8192).decode("latin-1").split()
        while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
            pass  # the request's headers: nothing in them matters here
        host, _, port = request[1].rpartition(":") if len(request) == 3 and request[0] == "CONNECT" else ("", "", "")
        if host not in SITE_HOSTS or port != "443":
            self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        # A browser that drops a connection mid-way is no error of the test's: the tunnel just ends.
        with contextlib.suppress(OSError):
            with socket.create_connection(("127.0.0.1", self.server.site_port), timeout=10) as upstream:
                self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                self.wfile.flush()
                _pipe(self.connection, upstream)


def _pipe(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""
    peers = {a: b, b: a}
    a.settimeout(None)
    b.settimeout(None)
    while True:
        readable, _, _ = select.select(list(peers), [], [], 30)
        if not readable:
            return  # idle: the browser opens a new connection when it needs one
        for sock in readable:
            data = sock.recv(65536)
            if not data:
                return
            peers[sock].sendall(data)


class SiteProxy:
    """An HTTP proxy on a random loopback port for browsers without host-resolver rules (Firefox): it tunnels
    https://<site host>/ to the site server and refuses every other destination."""

    def __init__(self, site_port: int) -> None:
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _TunnelHandler)
        self._server.daemon_threads = True
        self._server.site_port = site_port
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def firefox_prefs(self) -> dict[str, object]:
        """Every http and https request goes through this proxy, except loopback (the backend), which Firefox
        never proxies unless network.proxy.allow_hijacking_localhost is set."""
        return {
            "network.proxy.type": 1,
            "network.proxy.http": "127.0.0.1",
            "network.proxy.http_port": self.port,
            "network.proxy.ssl": "127.0.0.1",
            "network.proxy.ssl_port": self.port,
            "network.proxy.no_proxies_on": "",
            "network.proxy.allow_hijacking_localhost": False,
        }

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class LoopbackPageServer:
    """Plain http://127.0.0.1:<port>/ serving one paper page: where the shipped extension must not look."""

    def __init__(self, fixture: str) -> None:
        body = (FIXTURES / fixture).read_bytes()

        class Handler(_SiteHandler):
            def do_GET(self):  # noqa: N802 (http.server API)
                self._send(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/abs/2401.01234v3"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
