"""Trending on a fresh install with Hugging Face ingestion: upvotes make a real list before anyone reads a paper,
and readers here blend in (counted in reasons only from k readers on; upvotes are public and always counted)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from server.db import db
from server.models import HfUpvote, Paper
from server.services.trending import TrendingSettings, compute_trending, packaged_settings
from tests.api.helpers import event
from tests.ingest.conftest import HF_BASE
from tests.ingest.helpers import invoke
from tests.ingest.upstream import fixture

API = "/api/v1"
DAILY = f"{HF_BASE}/daily_papers"
WORLD_SIM, MOE = "arxiv:2401.07777", "arxiv:2401.00001"  # 212 and 37 upvotes in the recorded page


def ingest_todays_page(runner, upstream) -> None:
    upstream.route(DAILY, fixture("hf_daily_2024-01-10.json", "application/json; charset=utf-8"))
    result = invoke(runner, "ingest", "hf")  # today's page (UTC), as the scheduler asks for it
    assert result.exit_code == 0 and "new 2" in result.output, result.output


def test_a_fresh_install_with_hf_ingestion_has_a_trending_list_with_upvote_reasons(client, runner, upstream):
    assert client.get(f"{API}/trending").get_json()["items"] == []
    ingest_todays_page(runner, upstream)
    for window in ("1d", "7d", "30d"):
        body = client.get(f"{API}/trending?window={window}").get_json()
        assert [i["paper"]["key"] for i in body["items"]] == [WORLD_SIM, MOE], (window, body)
        assert [i["reasons"] for i in body["items"]] == [
            ["Trending on Hugging Face: 212 upvotes"],
            ["Trending on Hugging Face: 37 upvotes"],
        ]
        assert body["items"][0]["paper"]["title"] == "Video Diffusion Models as World Simulators"


def test_readers_here_blend_with_upvotes_and_only_readers_are_k_anonymous(client, runner, upstream, accounts):
    ingest_todays_page(runner, upstream)
    users = [accounts.new() for _ in range(3)]
    for user in users:  # three readers here make the less upvoted paper the week's first
        client.post(f"{API}/events", json={"events": [event("save", MOE)]}, headers=user["headers"])
    lone = accounts.new()
    client.post(f"{API}/events", json={"events": [event("open", WORLD_SIM)]}, headers=lone["headers"])

    items = client.get(f"{API}/trending").get_json()["items"]
    assert [i["paper"]["key"] for i in items] == [MOE, WORLD_SIM]
    assert items[0]["reasons"] == ["Trending here: 3 readers this week", "Trending on Hugging Face: 37 upvotes"]
    # one reader is not counted aloud (k = 3); the public upvotes are
    assert items[1]["reasons"] == ["Trending on Hugging Face: 212 upvotes", "Trending here this week"]

    # before any model is trained, a newcomer's recommendations are this list, saying so
    newcomer = accounts.new()
    fallback = client.get(f"{API}/recommendations", headers=newcomer["headers"]).get_json()["items"]
    assert fallback[1]["reasons"][0] == "Trending on Hugging Face: 212 upvotes"


def test_upvotes_decay_by_day_are_log_scaled_and_weighted_by_the_config(app, runner, upstream):
    ingest_todays_page(runner, upstream)
    with app.app_context():
        session = db.session
        ids = dict(session.execute(select(Paper.key, Paper.id)).all())
        # the paper with fewer upvotes was also listed on an older day: its best day counts, once
        old = datetime.now(UTC).date() - timedelta(days=20)
        session.add(HfUpvote(paper_id=ids[MOE], day=old, upvotes=5000))
        session.commit()
        now = datetime.now(UTC)
        default = packaged_settings()
        week = compute_trending(session, "7d", now=now)
        top = dict(zip(week.keys, week.scores, strict=True))
        # today's listing: log1p(upvotes), times the freshness boost both papers share (published in 2024)
        assert abs(top[WORLD_SIM] / top[MOE] - 5.3612921 / 3.6375862) < 1e-4
        month = compute_trending(session, "30d", now=now)
        upvotes = dict(zip(month.keys, month.upvotes.tolist(), strict=True))
        assert upvotes[MOE] == 37  # the latest listing's count is the one shown
        half_life = dict(default.half_life_days)["30d"]
        best_moe = max(3.6375862, 8.5173931 * 0.5 ** (20 / half_life))
        scores = dict(zip(month.keys, month.scores, strict=True))
        assert abs(scores[WORLD_SIM] / scores[MOE] - 5.3612921 / best_moe) < 1e-4

        off = TrendingSettings(**{**default.__dict__, "hf_upvote_weight": 0.0})
        assert len(compute_trending(session, "7d", now=now, settings=off).paper_ids) == 0
        double = TrendingSettings(**{**default.__dict__, "hf_upvote_weight": 2.0})
        np_scores = compute_trending(session, "7d", now=now, settings=double).scores
        assert abs(float(np_scores[0]) - 2 * float(week.scores[0])) < 1e-9
