"""A real HTTP server on 127.0.0.1, in a thread, answering recorded upstream responses (nothing leaves the machine).

Routes map a path to a responder: a function of the query (one value per parameter) that returns a Reply. Every
request is logged, so tests can check what was asked (the resumption token, the paging, the retries).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/atom+xml; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (a slow upstream, to make the client time out)


Responder = Callable[[dict[str, str]], Reply]


def fixture(name: str, content_type: str = "application/atom+xml; charset=utf-8", status: int = 200) -> Reply:
    return Reply(status, (FIXTURES / name).read_bytes(), content_type)


def xml(name: str) -> Reply:
    return fixture(name, "text/xml; charset=utf-8")


def error(status: int = 500) -> Reply:
    return Reply(status, b"<html><body>Internal Server Error</body></html>", "text/html")


def sequence(*replies: Reply) -> Responder:
    """Successive replies to successive requests; the last one repeats."""
    queue = list(replies)

    def respond(_query: dict[str, str]) -> Reply:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return respond


def by_param(name: str, replies: dict[str, Reply | Responder], default: Reply | None = None) -> Responder:
    """The reply chosen by one query parameter's value (a Responder there is asked in turn)."""

    def respond(query: dict[str, str]) -> Reply:
        chosen = replies.get(query.get(name, ""), default or Reply(404, b"no such recording", "text/plain"))
        return chosen(query) if callable(chosen) else chosen

    return respond


class Upstream:
    def __init__(self) -> None:
        self.routes: dict[str, Responder] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                parts = urlsplit(self.path)
                query = dict(parse_qsl(parts.query, keep_blank_values=True))
                with upstream._lock:
                    upstream.requests.append((parts.path, query))
                    responder = upstream.routes.get(parts.path)
                    reply = responder(query) if responder else Reply(404, b"no route", "text/plain")
                if reply.delay:
                    time.sleep(reply.delay)
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def route(self, path: str, responder: Responder | Reply) -> None:
        self.routes[path] = responder if callable(responder) else (lambda _query: responder)

    def asked(self, path: str) -> list[dict[str, str]]:
        """The queries of the requests made to ``path``, in order."""
        return [query for asked_path, query in self.requests if asked_path == path]

    def start(self) -> Upstream:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def serve_all(upstream: Upstream, routes: Iterable[tuple[str, Responder | Reply]]) -> None:
    for path, responder in routes:
        upstream.route(path, responder)
