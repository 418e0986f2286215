"""The one HTTP client of every source: retries with backoff on 5xx and timeouts, and a polite pause between calls."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

RETRY_STATUSES = (429, 500, 502, 503, 504)


class UpstreamError(RuntimeError):
    """An upstream request that failed for good (after the retries); the message is one line."""


def _describe(url: str, params: Mapping[str, Any] | None) -> str:
    prepared = requests.Request("GET", url, params=params).prepare().url or url
    return prepared if len(prepared) <= 300 else prepared[:297] + "..."


class UpstreamClient:
    """GET with urllib3 retries (5xx, 429, connection errors and read timeouts, honouring Retry-After) and at
    least ``delay`` seconds between the start of one request and the next (arXiv asks for 3 s)."""

    def __init__(
        self,
        *,
        delay: float = 3.0,
        retries: int = 4,
        backoff: float = 2.0,
        timeout: float = 60.0,
        user_agent: str = "PaperScout",
    ) -> None:
        self.delay = delay
        self.retries = retries
        self.timeout = timeout
        self._last_request: float | None = None
        retry = Retry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            backoff_factor=backoff,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET"}),
            respect_retry_after_header=True,
            raise_on_status=True,
        )
        self.session = requests.Session()
        self.session.headers["User-Agent"] = user_agent
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> UpstreamClient:
        return cls(
            delay=float(config["INGEST_DELAY_SECONDS"]),
            retries=int(config["INGEST_RETRIES"]),
            backoff=float(config["INGEST_BACKOFF_SECONDS"]),
            timeout=float(config["INGEST_TIMEOUT_SECONDS"]),
            user_agent=str(config["INGEST_USER_AGENT"]),
        )

    def _pace(self) -> None:
        if self._last_request is not None and self.delay > 0:
            wait = self.delay - (time.monotonic() - self._last_request)
            if wait > 0:
                time.sleep(wait)
        self._last_request = time.monotonic()

    def get(self, url: str, params: Mapping[str, Any] | None = None) -> requests.Response:
        """The response to a GET, or UpstreamError saying in one line why there is none."""
        self._pace()
        where = _describe(url, params)
        try:
            response = self.session.get(url, params=params, timeout=self.timeout)
        except requests.exceptions.RetryError as exc:
            reason = getattr(exc.args[0], "reason", exc) if exc.args else exc
            raise UpstreamError(f"GET {where}: {reason} (gave up after {self.retries} retries)") from None
        except requests.exceptions.Timeout:
            raise UpstreamError(f"GET {where}: timed out after {self.timeout:g} s") from None
        except requests.exceptions.RequestException as exc:
            reason = getattr(exc.args[0], "reason", exc) if exc.args else exc
            problem = type(reason).__name__
            raise UpstreamError(f"GET {where}: {problem} (gave up after {self.retries} retries)") from None
        if response.status_code >= 400:
            raise UpstreamError(f"GET {where}: HTTP {response.status_code} {response.reason}")
        return response

    def close(self) -> None:
        self.session.close()
