"""Builders for the digest tests: a catalog, users with their digest switched on, and reading a digest."""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import update

from server.db import db
from server.models import Paper
from tests.server.catalog import GRAPH_KEYS, PROTEIN_KEYS, papers
from tests.server.test_recommendations import retrain, save_all

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


NEW_GRAPH = ["overlapping community detection", "graph neural networks for link prediction", "random walk embeddings"]
NEW_PROTEIN = ["protein folding pathways", "protein docking of antibodies", "protein design of enzymes"]


def trained_community(app, accounts, tmp_path: Path) -> tuple[dict[str, list[dict]], dict[str, set[str]]]:
    """Six graph and six protein readers of the two-topic catalog, a model trained on them, and the catalog
    aged three days (older than any first digest looks back). Returns the readers by field and the titles
    each saved."""
    runner = app.test_cli_runner()
    import_papers(runner, tmp_path, papers())
    titles = {p["key"]: p["title"] for p in papers()}
    saved_titles: dict[str, set[str]] = {}
    rng = random.Random(3)
    readers: dict[str, list[dict]] = {}
    for group, keys in (("graph", GRAPH_KEYS), ("protein", PROTEIN_KEYS)):
        for i in range(6):
            user = accounts.new(f"{group}{i}@example.org")
            mine = rng.sample(keys, 6)
            save_all(accounts.client, user, mine)
            saved_titles[user["email"]] = {titles[k] for k in mine}
            readers.setdefault(group, []).append(user)
    retrain(runner)
    with app.app_context():
        db.session.execute(update(Paper).values(created_at=datetime.now(UTC) - timedelta(days=3)))
        db.session.commit()
    return readers, saved_titles


def import_fresh_papers(runner, tmp_path: Path) -> list[dict]:
    """The day's new papers, three of each field, which the model has never seen (it ranks them by text)."""
    fresh = [
        {**p, "key": f"arxiv:2612.{i:05d}", "title": p["title"].replace("Scalable", "Faster")}
        for i, p in enumerate(papers(NEW_GRAPH, NEW_PROTEIN))
    ]
    import_papers(runner, tmp_path, fresh, "fresh.jsonl")
    return fresh


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
