"""Builders for the digest tests: a catalog, users with their digest switched on, and reading a digest."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

API = "/api/v1"
SAVE_LINK = re.compile(r'<a class="save" href="([^"]+)"')
TITLE = re.compile(r'<a class="title" href="([^"]+)"[^>]*>([^<]+)</a>')
REASON = re.compile(r'<p class="reason"[^>]*>&#10003; ([^<]+)</p>')
FORM_TOKEN = re.compile(r'name="token" value="([^"]+)"')


def import_papers(runner, tmp_path: Path, papers: list[dict], name: str = "catalog.jsonl") -> None:
    path = tmp_path / name
    path.write_text("\n".join(json.dumps(p) for p in papers))
    result = runner.invoke(args=["import-papers", str(path)])
    assert result.exit_code == 0, result.output


def topic_papers(prefix: str, topics: list[str], *, kind: str) -> list[dict]:
    return [
        {
            "key": f"arxiv:{prefix}.{i:05d}",
            "title": f"{kind.title()} study of {topic}",
            "abstract": f"We study {topic} in {kind} with new methods and experiments.",
            "authors": [f"Ada Author{i}", "Bo Writer"],
            "published_at": "2026-11-30",
        }
        for i, topic in enumerate(topics)
    ]


def hour_now(timezone: str, now: datetime | None = None) -> int:
    return (now or datetime.now(UTC)).astimezone(ZoneInfo(timezone)).hour


def switch_on(client, user: dict, frequency: str = "daily", timezone: str = "UTC", hour: int | None = None) -> dict:
    """The user's digest on, due now unless ``hour`` says otherwise."""
    body = {"frequency": frequency, "timezone": timezone, "hour": hour_now(timezone) if hour is None else hour}
    response = client.put(f"{API}/me/digest", json=body, headers=user["headers"])
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def parts(message: EmailMessage) -> tuple[str, str]:
    """The text and the HTML of a multipart/alternative digest."""
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


def path_of(url: str) -> str:
    parts_ = urlsplit(url)
    assert f"{parts_.scheme}://{parts_.netloc}" == "http://127.0.0.1:5000", url
    return parts_.path
