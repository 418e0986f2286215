"""Configuration from the environment, with safe defaults for a self-hosted SQLite install."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# The shipped Chrome extension (its id is pinned by the manifest's `key`), and any Firefox extension: Firefox
# gives every install a random moz-extension://<uuid> origin, which no server can know in advance.
CHROME_EXTENSION_ORIGIN = "chrome-extension://oonffdfnkhcfinkfkbkngiiiabhmpfdk"
DEFAULT_EXTENSION_ORIGINS = f"{CHROME_EXTENSION_ORIGIN},moz-extension://*"


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def var_dir() -> Path:
    return Path(os.environ.get("PAPERSCOUT_VAR", PROJECT_ROOT / "var"))


def defaults() -> dict[str, Any]:
    var = var_dir()
    return {
        "DATABASE_URL": os.environ.get("DATABASE_URL", f"sqlite:///{var / 'paperscout.sqlite3'}"),
        "MODEL_DIR": os.environ.get("PAPERSCOUT_MODEL_DIR", str(var / "models")),
        "MAX_CONTENT_LENGTH": int(os.environ.get("PAPERSCOUT_MAX_BODY", 4 * 1024 * 1024)),
        # Request bounds (server/request_limits.py); gunicorn's limits in the Makefile sit above them.
        # Largest reference file POST /saves/import takes (it must also fit MAX_CONTENT_LENGTH).
        "IMPORT_MAX_BYTES": int(os.environ.get("PAPERSCOUT_IMPORT_MAX_BYTES", 2 * 1024 * 1024)),
        "MAX_URL_LENGTH": int(os.environ.get("PAPERSCOUT_MAX_URL_LENGTH", 4096)),
        "MAX_HEADER_LENGTH": int(os.environ.get("PAPERSCOUT_MAX_HEADER_LENGTH", 8192)),
        "MAX_HEADER_COUNT": int(os.environ.get("PAPERSCOUT_MAX_HEADER_COUNT", 100)),
        "JSON_MAX_DEPTH": int(os.environ.get("PAPERSCOUT_MAX_JSON_DEPTH", 32)),
        "TOKEN_TTL_DAYS": int(os.environ.get("PAPERSCOUT_TOKEN_TTL_DAYS", 365)),
        "TRENDING_CACHE_SECONDS": float(os.environ.get("PAPERSCOUT_TRENDING_CACHE_SECONDS", 30)),
        "MODEL_CHECK_SECONDS": float(os.environ.get("PAPERSCOUT_MODEL_CHECK_SECONDS", 3)),
        "BLAS_THREADS": int(os.environ.get("PAPERSCOUT_BLAS_THREADS", 1)),
        # k: reasons and lists never state a count of fewer than k distinct readers
        "PRIVACY_MIN_READERS": int(os.environ.get("PAPERSCOUT_PRIVACY_MIN_READERS", 3)),
        **ingest_defaults(),
        **digest_defaults(),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Off by default so that http://127.0.0.1 works; set PAPERSCOUT_SECURE_COOKIES=1 behind HTTPS.
        "SESSION_COOKIE_SECURE": _flag("PAPERSCOUT_SECURE_COOKIES"),
        "REMEMBER_COOKIE_SECURE": _flag("PAPERSCOUT_SECURE_COOKIES"),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "MAX_TOKENS_PER_USER": int(os.environ.get("PAPERSCOUT_MAX_TOKENS_PER_USER", 20)),
        # Origins allowed to call the API from a browser context other than the server's own pages.
        "EXTENSION_ORIGINS": os.environ.get("PAPERSCOUT_EXTENSION_ORIGINS", DEFAULT_EXTENSION_ORIGINS),
        # How many reverse proxies in front of the app set X-Forwarded-For/-Proto/-Host (0: trust none).
        "TRUSTED_PROXIES": int(os.environ.get("PAPERSCOUT_TRUSTED_PROXIES", 0)),
        # Flask-Limiter: storage, key prefix, and the limits (see server/security/limits.py)
        "RATELIMIT_STORAGE_URI": os.environ.get("PAPERSCOUT_RATELIMIT_STORAGE_URL", "memory://"),
        "RATELIMIT_KEY_PREFIX": os.environ.get("PAPERSCOUT_RATELIMIT_KEY_PREFIX", "paperscout"),
        "RATELIMIT_LOGIN_PER_IP": os.environ.get("PAPERSCOUT_RATELIMIT_LOGIN_PER_IP", "30 per minute"),
        "RATELIMIT_LOGIN_FAILURES_PER_ACCOUNT": os.environ.get(
            "PAPERSCOUT_RATELIMIT_LOGIN_FAILURES_PER_ACCOUNT", "10 per 15 minutes"
        ),
        "RATELIMIT_REGISTER_PER_IP": os.environ.get("PAPERSCOUT_RATELIMIT_REGISTER_PER_IP", "10 per hour"),
        "RATELIMIT_EVENTS_PER_USER": os.environ.get("PAPERSCOUT_RATELIMIT_EVENTS_PER_USER", "120 per minute"),
        "RATELIMIT_FEEDS_PER_IP": os.environ.get("PAPERSCOUT_RATELIMIT_FEEDS_PER_IP", "60 per minute"),
        "JSON_SORT_KEYS": False,
        # flask-smorest / OpenAPI
        "API_TITLE": "PaperScout API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
    }


def ingest_defaults() -> dict[str, Any]:
    """Upstream sources, HTTP etiquette and the schedule of server/ingest (docs/ingestion.md)."""
    env = os.environ.get
    return {
        "ARXIV_API_URL": env("PAPERSCOUT_ARXIV_API_URL", "https://export.arxiv.org/api/query"),
        "ARXIV_RSS_URL": env("PAPERSCOUT_ARXIV_RSS_URL", "https://rss.arxiv.org/atom"),
        "ARXIV_OAI_URL": env("PAPERSCOUT_ARXIV_OAI_URL", "https://oaipmh.arxiv.org/oai"),
        "HF_API_URL": env("PAPERSCOUT_HF_API_URL", "https://huggingface.co/api"),
        # arXiv asks for at most one request every 3 seconds
        "INGEST_DELAY_SECONDS": float(env("PAPERSCOUT_INGEST_DELAY_SECONDS", 3)),
        "INGEST_RETRIES": int(env("PAPERSCOUT_INGEST_RETRIES", 4)),
        "INGEST_BACKOFF_SECONDS": float(env("PAPERSCOUT_INGEST_BACKOFF_SECONDS", 2)),
        "INGEST_TIMEOUT_SECONDS": float(env("PAPERSCOUT_INGEST_TIMEOUT_SECONDS", 60)),
        "INGEST_PAGE_SIZE": int(env("PAPERSCOUT_INGEST_PAGE_SIZE", 200)),
        "INGEST_USER_AGENT": env("PAPERSCOUT_INGEST_USER_AGENT", "PaperScout/0.1 (self-hosted paper recommender)"),
        "INGEST_JOBS": env("PAPERSCOUT_INGEST", ""),
        "INGEST_CRON": env("PAPERSCOUT_INGEST_CRON", "30 6 * * *"),
        "INGEST_RETRAIN": env("PAPERSCOUT_INGEST_RETRAIN", "1") not in ("0", "false", "no", ""),
    }


def digest_defaults() -> dict[str, Any]:
    """The digest email (docs/digest.md): the SMTP server, the sender, where links point, and its schedule."""
    env = os.environ.get
    return {
        "SMTP_URL": env("PAPERSCOUT_SMTP_URL", ""),
        "MAIL_FROM": env("PAPERSCOUT_MAIL_FROM", "PaperScout <paperscout@localhost>"),
        "PUBLIC_URL": env("PAPERSCOUT_PUBLIC_URL", "http://127.0.0.1:5000"),
        "DIGEST_SIZE": int(env("PAPERSCOUT_DIGEST_SIZE", 10)),
        "DIGEST_LINK_DAYS": int(env("PAPERSCOUT_DIGEST_LINK_DAYS", 30)),
        # users choose their own local hour: the job looks for due digests every quarter hour (UTC)
        "DIGEST_CRON": env("PAPERSCOUT_DIGEST_CRON", "*/15 * * * *"),
    }


def load_secret_key(instance_path: str) -> str:
    """SECRET_KEY from the environment, else one generated on first start and kept in the instance folder."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    try:
        # Another worker may have won the race; keep whichever key landed first.
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text().strip()
