"""Issue 12, defect 9: an over-long URL or header reaching the server as `make run` serves it (gunicorn) gets the
app's JSON error shape (414 / 431), not gunicorn's HTML page: the app's limits sit below gunicorn's."""

from __future__ import annotations

import http.client
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.api.helpers import assert_error_shape

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_run_gunicorn_command(port: int) -> list[str]:
    """The gunicorn command line of `make run`, as make would run it (dry run, nothing executed)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    dry = subprocess.run(
        ["make", "-n", "-s", "run", f"PORT={port}"], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    line = next(line for line in dry.stdout.splitlines() if "gunicorn" in line and "create_app" in line)
    command = shlex.split(line)
    # the gunicorn of the environment running the tests (the Makefile's .venv when run by `make test`)
    command[0] = str(Path(sys.executable).parent / "gunicorn")
    return command


class Response:
    def __init__(self, raw: http.client.HTTPResponse) -> None:
        self.status_code = raw.status
        self.headers = dict(raw.getheaders())
        self.data = raw.read()

    def get_json(self):
        return json.loads(self.data)

    def get_data(self, as_text: bool = False):
        return self.data.decode(errors="replace") if as_text else self.data


def get(port: int, target: str, headers: dict | None = None) -> Response:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", target, headers=headers or {})
        return Response(connection.getresponse())
    finally:
        connection.close()


@pytest.fixture
def gunicorn(tmp_path, database_url):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PAPERSCOUT_MODEL_DIR": str(tmp_path / "models"),
        "PAPERSCOUT_INSTANCE": str(tmp_path / "instance"),
        "SECRET_KEY": "gunicorn-test",
    }
    log = (tmp_path / "gunicorn.log").open("w")
    process = subprocess.Popen(make_run_gunicorn_command(port), cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        for _ in range(300):  # until it answers (or died)
            if process.poll() is not None:
                pytest.fail(f"gunicorn exited: {(tmp_path / 'gunicorn.log').read_text()[-2000:]}")
            try:
                if get(port, "/api/v1/healthz").status_code == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not answer")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_gunicorn_leaves_over_long_urls_and_headers_to_the_app(gunicorn):
    response = get(gunicorn, "/api/v1/papers?q=" + "a" * 5000)
    assert response.headers["Content-Type"].startswith("application/json"), response.get_data(as_text=True)[:200]
    assert_error_shape(response, 414)
    header = get(gunicorn, "/api/v1/healthz", {"X-Long": "x" * 9000})
    assert header.headers["Content-Type"].startswith("application/json")
    assert_error_shape(header, 431)
    many = get(gunicorn, "/api/v1/healthz", {f"X-H{i}": "1" for i in range(120)})
    assert_error_shape(many, 431)
    assert get(gunicorn, "/api/v1/papers?q=" + "a" * 150).status_code == 200
