"""Schemathesis against the real app, every operation, as a user and as an admin: no 5xx, responses as documented.

The budget is small here (CI); PAPERSCOUT_FUZZ_EXAMPLES raises it for the long documented run (docs/security.md).
Operations that end the caller's credentials (logout, token revocation, password change, DELETE /me) are
fuzzed too: the auth provider hands every case a live token, minting a new account or token when the previous
one was revoked or erased.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy import select

from server import create_app
from server.auth import issue_token
from server.db import db
from server.models import ApiToken, User, utcnow
from tests.conftest import app_config

EXAMPLES = int(os.environ.get("PAPERSCOUT_FUZZ_EXAMPLES", "15"))
CHECKS = [not_a_server_error, response_schema_conformance]


class LiveToken:
    """A bearer token of a live account of the given kind; a new one whenever the last stopped working."""

    def __init__(self, app, *, admin: bool) -> None:
        self.app = app
        self.admin = admin
        self.plain: str | None = None
        self.created = 0

    def header(self) -> str:
        with self.app.app_context():
            if self.plain is None or not self._alive():
                self.plain = self._mint()
        return f"Bearer {self.plain}"

    def _alive(self) -> bool:
        from server.auth import hash_token

        token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(self.plain)))
        return token is not None and token.revoked_at is None and db.session.get(User, token.user_id) is not None

    def _mint(self) -> str:
        self.created += 1
        kind = "admin" if self.admin else "user"
        email = f"fuzz-{kind}-{self.created}@example.org"
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            # A cheap hash: the password is never used, and a slow hash per account would eat the budget.
            user = User(email=email, password_hash="pbkdf2:sha256:1$x$y", is_admin=self.admin, created_at=utcnow())
            db.session.add(user)
            db.session.flush()
        _, plain = issue_token(user, "schemathesis")
        db.session.commit()
        return plain


class CountingApp:
    """WSGI middleware counting requests and server errors, so the run reports what it did."""

    def __init__(self, wsgi_app) -> None:
        self.wsgi_app = wsgi_app
        self.requests = 0
        self.server_errors = 0

    def __call__(self, environ, start_response):
        self.requests += 1

        def counting_start(status, headers, exc_info=None):
            if status.startswith("5"):
                self.server_errors += 1
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, counting_start)


@pytest.fixture(params=["user", "admin"])
def api_schema(request, database_url: str, tmp_path: Path):
    app = create_app(app_config(database_url, tmp_path))
    app.wsgi_app = counter = CountingApp(app.wsgi_app)
    result = app.test_cli_runner().invoke(args=["load-demo"])
    assert result.exit_code == 0, result.output
    live = LiveToken(app, admin=request.param == "admin")

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)

    @schema.auth(refresh_interval=None)
    class _Bearer:
        def get(self, case, ctx):
            return live.header()

        def set(self, case, data, ctx):
            case.headers = {**(case.headers or {}), "Authorization": data}

    schema.counter = counter
    yield schema
    print(f"schemathesis ({request.param}): {counter.requests} requests, {counter.server_errors} server errors")
    app.extensions["paperscout_db"].dispose()


def _operations(schema) -> list:
    return [result.ok() for result in schema.get_all_operations()]


def test_api_conforms_and_never_fails(api_schema):
    """Every operation in turn (schemathesis' pytest plugin does not run under pytest 9, so hypothesis drives
    each operation's strategy directly); all failures are collected before the test fails."""
    failures: list[str] = []
    for operation in _operations(api_schema):

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=os.environ.get("PAPERSCOUT_FUZZ_RANDOM") != "1",
            database=None,
        )
        def run(case) -> None:
            case.call_and_validate(checks=CHECKS)

        try:
            run()
        except Exception as exc:  # noqa: BLE001 - collected and reported below
            failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)
