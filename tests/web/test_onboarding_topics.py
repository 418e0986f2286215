"""Onboarding and topics: the welcome form (topics, pasted papers as saves), GET|PUT /api/v1/me/topics, and
topics feeding the lists as explicit interests with honest reasons, with and without a trained model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from server.db import db
from server.models import Interaction, Paper, Save, UserTopic
from tests.api.helpers import assert_error_shape
from tests.server.catalog import GRAPH_KEYS, PROTEIN_KEYS
from tests.server.test_recommendations import community, load_catalog, retrain  # noqa: F401 - a fixture
from tests.web.helpers import errors_of, sign_up

API = "/api/v1"
PROTEIN_TOPIC = "In your topic: Quantitative Methods"


def test_welcome_stores_topics_and_saves_pasted_papers_as_bare_entries(client, app):
    token = sign_up(client)
    assert "Computation and Language" in client.get("/welcome").text  # human names, not only codes
    pasted = "2401.01234\nhttps://arxiv.org/abs/1706.03762v5, arXiv:1706.03762"
    response = client.post("/welcome", data={"csrf_token": token, "topics": ["cs.CL", "stat.ML"], "papers": pasted})
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert "2 topics and 2 saved papers" in client.get("/").text
    with app.app_context():
        assert sorted(db.session.scalars(select(UserTopic.category))) == ["cs.CL", "stat.ML"]
        saved = db.session.scalars(select(Paper).join(Save, Save.paper_id == Paper.id)).all()
        assert sorted(p.key for p in saved) == ["arxiv:1706.03762", "arxiv:2401.01234"]
        assert all(p.title == "" and p.provenance == "client" for p in saved)  # bare: `ingest resolve` fills them
        # Topics are no events; the pasted papers are saves, logged as the explicit choices they are.
        assert sorted(db.session.scalars(select(Interaction.type))) == ["save", "save"]
    assert client.get(f"{API}/me/topics").get_json() == {"topics": ["cs.CL", "stat.ML"]}


def test_welcome_with_a_bad_id_or_topic_changes_nothing(client, app):
    token = sign_up(client)
    bad = client.post("/welcome", data={"csrf_token": token, "topics": ["cs.CL"], "papers": "2401.01234 not-a-paper"})
    assert bad.status_code == 422 and "Not an arXiv id or paper link: not-a-paper" in errors_of(bad.text)
    assert "2401.01234 not-a-paper" in bad.text  # the reader's text is kept for correction
    unknown = client.post("/welcome", data={"csrf_token": token, "topics": ["cs.XX"], "papers": ""})
    assert unknown.status_code == 422
    with app.app_context():
        assert db.session.scalars(select(UserTopic)).all() == [] and db.session.scalars(select(Save)).all() == []


def test_topics_api_validates_and_replaces(client, accounts):
    user = accounts.new()
    headers = user["headers"]
    assert client.get(f"{API}/me/topics", headers=headers).get_json() == {"topics": []}
    put = client.put(f"{API}/me/topics", json={"topics": ["stat.ML", "cs.LG", "cs.LG"]}, headers=headers)
    assert put.status_code == 200 and put.get_json() == {"topics": ["cs.LG", "stat.ML"]}
    for body in (
        {"topics": ["cs.LG", "astro-ph.XX"]},
        {"topics": "cs.LG"},
        {"topics": ["cs.AI", "cs.CL", "cs.CV", "cs.LG", "cs.IR", "cs.RO", "cs.SE", "cs.CR", "cs.DB", "cs.DS", "cs.HC"]},
        {"topics": ["cs.LG"], "extra": 1},
        {},
    ):
        assert_error_shape(client.put(f"{API}/me/topics", json=body, headers=headers), 422)
    assert client.get(f"{API}/me/topics", headers=headers).get_json() == {"topics": ["cs.LG", "stat.ML"]}
    assert client.get(f"{API}/me/export", headers=headers).get_json()["topics"] == ["cs.LG", "stat.ML"]
    assert client.put(f"{API}/me/topics", json={"topics": []}, headers=headers).get_json() == {"topics": []}
    assert_error_shape(client.get(f"{API}/me/topics"), 401)


def test_erasing_the_account_erases_its_topics(client, app, accounts):
    user = accounts.new()
    client.put(f"{API}/me/topics", json={"topics": ["cs.CL"]}, headers=user["headers"])
    assert client.delete(f"{API}/me", headers=user["headers"]).status_code == 204
    with app.app_context():
        assert db.session.scalars(select(UserTopic)).all() == []


def _shown(page: str) -> list[str]:
    """Catalog keys in the order the page lists them."""
    found = {k: page.find(f'data-key="{k}"') for k in GRAPH_KEYS + PROTEIN_KEYS}
    return sorted((k for k, at in found.items() if at >= 0), key=found.get)


def _categorise(app) -> None:
    """The catalog as arXiv's feed would describe it: categories, and announced this week (New for you)."""
    with app.app_context():
        db.session.execute(update(Paper).values(announced_at=datetime.now(UTC) - timedelta(days=1)))
        db.session.execute(update(Paper).where(Paper.key.in_(GRAPH_KEYS)).values(primary_category="cs.SI"))
        db.session.execute(update(Paper).where(Paper.key.in_(PROTEIN_KEYS)).values(primary_category="q-bio.QM"))
        db.session.commit()


def test_topics_lead_a_new_readers_lists_without_a_model(client, app, runner, tmp_path):
    load_catalog(runner, tmp_path)
    _categorise(app)
    token = sign_up(client)
    client.post("/welcome", data={"csrf_token": token, "topics": ["q-bio.QM"], "papers": ""})
    for path in ("/", "/new"):
        page = client.get(path).text
        shown = _shown(page)
        assert shown and set(shown[: len(PROTEIN_KEYS)]) <= set(PROTEIN_KEYS), (path, shown)
        assert page.count(PROTEIN_TOPIC) >= len(PROTEIN_KEYS)
        assert "In your topic: Social and Information Networks" not in page


def test_topics_steer_a_cold_reader_with_a_model_and_give_way_to_saves(client, app, runner, community):  # noqa: F811
    _categorise(app)
    retrain(runner)
    token = sign_up(client)
    cold = _shown(client.get("/").text)
    client.post("/welcome", data={"csrf_token": token, "topics": ["q-bio.QM"], "papers": ""})
    for path in ("/", "/new"):  # New for you: the model ranks exactly this week's papers (all of them here)
        page = client.get(path).text
        top = _shown(page)[:8]
        assert top != cold[:8] and set(top) <= set(PROTEIN_KEYS), (path, top)
        assert page.count(PROTEIN_TOPIC) >= 8
    # Once the reader has papers of their own, those lead; the topic only explains its own papers.
    for key in GRAPH_KEYS[:6]:
        assert client.post(f"/papers/{key}/save", data={"csrf_token": token}).status_code == 303
    items = client.get(f"{API}/recommendations?limit=8", headers={"X-CSRF-Token": token}).get_json()["items"]
    assert sum(i["paper"]["key"] in GRAPH_KEYS for i in items) >= 5, items
    for item in items:
        assert (PROTEIN_TOPIC in item["reasons"]) == (item["paper"]["key"] in PROTEIN_KEYS)
