"""Helpers for the web app's tests: sign up through the real forms and read tokens from the pages."""

from __future__ import annotations

import re

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ERRORS = re.compile(r'class="error"[^>]*>(.*?)</p>', re.S)
H1 = re.compile(r"<h1[^>]*>(.*?)</h1>", re.S)
HTML = {"Accept": "text/html,application/xhtml+xml"}
JSON = {"Accept": "application/json"}


def sign_up(client, email: str = "reader@example.org", password: str = "correct horse battery") -> str:
    """Create an account through the sign-up form (this client is then signed in); returns the CSRF token."""
    response = client.post("/signup", data={"email": email, "password": password, "confirm": password})
    assert response.status_code == 303 and response.headers["Location"].endswith("/welcome"), response.text
    return csrf_of(client)


def csrf_of(client) -> str:
    page = client.get("/settings")
    assert page.status_code == 200, page.status_code
    return CSRF.search(page.text).group(1)


def errors_of(text: str) -> list[str]:
    return [re.sub(r"\s+", " ", e).strip() for e in ERRORS.findall(text)]


def heading_of(text: str) -> str:
    return re.sub(r"<[^>]+>", "", H1.search(text).group(1)).strip()
