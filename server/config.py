"""Configuration from the environment, with safe defaults for a self-hosted SQLite install."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def var_dir() -> Path:
    return Path(os.environ.get("PAPERSCOUT_VAR", PROJECT_ROOT / "var"))


def defaults() -> dict[str, Any]:
    var = var_dir()
    return {
        "DATABASE_URL": os.environ.get("DATABASE_URL", f"sqlite:///{var / 'paperscout.sqlite3'}"),
        "MODEL_DIR": os.environ.get("PAPERSCOUT_MODEL_DIR", str(var / "models")),
        "MAX_CONTENT_LENGTH": int(os.environ.get("PAPERSCOUT_MAX_BODY", 4 * 1024 * 1024)),
        "EVENTS_MAX_BATCH": 500,
        "TOKEN_TTL_DAYS": int(os.environ.get("PAPERSCOUT_TOKEN_TTL_DAYS", 365)),
        "TRENDING_CACHE_SECONDS": float(os.environ.get("PAPERSCOUT_TRENDING_CACHE_SECONDS", 30)),
        "MODEL_CHECK_SECONDS": float(os.environ.get("PAPERSCOUT_MODEL_CHECK_SECONDS", 3)),
        "BLAS_THREADS": int(os.environ.get("PAPERSCOUT_BLAS_THREADS", 1)),
        **ingest_defaults(),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
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
