"""The real app (SQLite and PostgreSQL, from tests/conftest.py) pointed at a local fixture server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from server import create_app
from tests.conftest import app_config
from tests.ingest.upstream import Upstream

API_PATH = "/api/query"
RSS_BASE = "/rss/atom"
OAI_PATH = "/oai"
HF_BASE = "/hf/api"


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream().start()
    yield server
    server.stop()


def ingest_config(upstream: Upstream) -> dict:
    return {
        "ARXIV_API_URL": upstream.url(API_PATH),
        "ARXIV_RSS_URL": upstream.url(RSS_BASE),
        "ARXIV_OAI_URL": upstream.url(OAI_PATH),
        "HF_API_URL": upstream.url(HF_BASE),
        "INGEST_DELAY_SECONDS": 0,
        "INGEST_BACKOFF_SECONDS": 0,
        "INGEST_RETRIES": 2,
        "INGEST_TIMEOUT_SECONDS": 10,
        "INGEST_PAGE_SIZE": 2,
        "INGEST_JOBS": "",
        "INGEST_RETRAIN": False,
    }


@pytest.fixture
def app(database_url, tmp_path, upstream):
    app = create_app({**app_config(database_url, tmp_path), **ingest_config(upstream)})
    yield app
    app.extensions["paperscout_db"].dispose()
