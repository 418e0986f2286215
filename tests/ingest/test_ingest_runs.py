"""Recorded runs (`ingest status`, /admin/stats), the ingest lock, and the configured jobs of the scheduler."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from server.db import db
from server.ingest import scheduler
from server.ingest.lock import IngestLock, LockHeld
from server.models import IngestRun, ModelVersion
from tests.api.test_me_admin import admin_headers
from tests.ingest.conftest import API_PATH, HF_BASE, OAI_PATH
from tests.ingest.helpers import count, invoke, papers, runs
from tests.ingest.upstream import by_param, error, fixture, xml
from tests.scheduler_process import log_until, scheduler_process

DAILY = f"{HF_BASE}/daily_papers"
HF_PAGE = fixture("hf_daily_2024-01-10.json", "application/json")


def _hold_lock(app) -> IngestLock:
    lock = IngestLock(app.extensions["paperscout_db"].engine, app.config["DATABASE_URL"])
    assert lock.acquire()
    return lock


def test_status_lists_runs_and_oai_harvests(app, runner, upstream):
    assert "no ingest runs yet" in invoke(runner, "ingest", "status").output
    upstream.route(DAILY, HF_PAGE)
    invoke(runner, "ingest", "hf", "--date", "2024-01-10")
    upstream.route(OAI_PATH, by_param("resumptionToken", {"": xml("oai_page1.xml"), "6380412|1001": error(500)}))
    invoke(runner, "ingest", "oai", "--set", "cs", "--from", "2024-01-01", "--until", "2024-01-09")

    output = invoke(runner, "ingest", "status").output.splitlines()
    assert "run 2 oai failed: fetched 2, new 1, updated 1, skipped 0" in output[0]  # 2401.00001 came from hf
    assert "too many 500 error responses" in output[0]
    assert "run 1 hf ok: fetched 2, new 2, updated 0, skipped 1" in output[1]
    assert output[2] == "oai set cs: unfinished (from 2024-01-01; 0 of 6)"


def test_admin_stats_has_an_ingest_section(app, client, runner, upstream):
    upstream.route(DAILY, HF_PAGE)
    invoke(runner, "ingest", "hf", "--date", "2024-01-10")
    upstream.route(DAILY, error(502))
    invoke(runner, "ingest", "hf", "--date", "2024-01-11")
    body = client.get("/api/v1/admin/stats", headers=admin_headers(client, runner)).get_json()
    assert body["papers"] == 2 and body["users"] == 1 and "interactions" in body
    hf = body["ingest"]["sources"]["hf"]
    assert hf["last_run"]["status"] == "failed" and "502" in hf["last_run"]["error"]
    assert hf["last_run"]["params"] == {"date": "2024-01-11"}
    assert hf["last_ok_at"] is not None
    assert [r["status"] for r in body["ingest"]["recent"]] == ["failed", "ok"]
    assert body["ingest"]["recent"][1] | {"started_at": None, "finished_at": None} == {
        "id": 1,
        "source": "hf",
        "params": {"date": "2024-01-10"},
        "status": "ok",
        "started_at": None,
        "finished_at": None,
        "fetched": 2,
        "new": 2,
        "updated": 0,
        "failed": 1,
        "error": None,
    }
    assert body["ingest"]["oai"] == []


def test_the_lock_excludes_a_second_runner(app, runner, upstream, caplog):
    upstream.route(DAILY, HF_PAGE)
    app.config["INGEST_JOBS"] = "hf"
    held = _hold_lock(app)  # as a scheduler in another process would
    try:
        manual = runner.invoke(args=["ingest", "hf", "--date", "2024-01-10"])
        assert manual.exit_code == 1 and "another ingest run holds the lock" in manual.output
        with pytest.raises(LockHeld):
            scheduler.run_configured(app)
        with caplog.at_level(logging.WARNING, logger="server.ingest"):
            scheduler.scheduled_job(app, stop=threading.Event())
        assert "skipped this time: another ingest run holds the lock" in caplog.text
        assert upstream.requests == [] and runs(app) == []
        second = IngestLock(app.extensions["paperscout_db"].engine, app.config["DATABASE_URL"])
        assert not second.acquire()
    finally:
        held.release()
    assert invoke(runner, "ingest", "hf", "--date", "2024-01-10").exit_code == 0
    assert len(runs(app)) == 1


def test_a_run_left_running_by_a_dead_process_is_closed_by_the_next(app, runner, upstream):
    with app.app_context():
        db.session.add(IngestRun(source="oai", params={}, status="running", problems=[]))
        db.session.commit()
    upstream.route(DAILY, HF_PAGE)
    invoke(runner, "ingest", "hf", "--date", "2024-01-10")
    dead, done = runs(app)
    assert dead.status == "failed" and dead.error.startswith("interrupted") and dead.finished_at is not None
    assert done.status == "ok"


def test_configured_jobs_run_once_then_retrain(app, runner, upstream):
    api_pages = {"0": fixture("arxiv_api_page1.xml"), "2": fixture("arxiv_api_page2.xml")}
    upstream.route(API_PATH, by_param("start", api_pages))
    upstream.route(DAILY, HF_PAGE)
    app.config.update(INGEST_JOBS="arxiv:cs.LG,cs.CL hf", INGEST_RETRAIN=True)
    result = invoke(runner, "ingest", "run")
    assert result.exit_code == 0, result.output
    assert [run.source for run in runs(app)] == ["arxiv", "hf", "hf"]  # hf: yesterday's page and today's
    assert len(upstream.asked(DAILY)) == 2
    assert len(papers(app)) == 4
    assert count(app, ModelVersion) == 1  # papers came in: a retrain followed
    query = upstream.asked(API_PATH)[0]["search_query"]
    assert query.startswith("(cat:cs.LG OR cat:cs.CL) AND submittedDate:[")


def test_nothing_configured_means_no_jobs_and_no_network(app, runner, upstream):
    assert "no ingest jobs configured" in invoke(runner, "scheduler").output
    assert "no ingest jobs configured" in invoke(runner, "ingest", "run").output
    assert upstream.requests == [] and runs(app) == []


def test_job_specs_are_checked():
    assert scheduler.parse_jobs("") == []
    specs = scheduler.parse_jobs("arxiv:cs.LG,cs.CL  rss:math.OC oai:physics:hep-th hf resolve")
    assert [str(s) for s in specs] == ["arxiv:cs.LG,cs.CL", "rss:math.OC", "oai:physics:hep-th", "hf", "resolve"]
    for bad in ("arxiv", "arxiv:cs.LG;rm", "oai", "oai:cs,math", "hf:cs.LG", "pubmed:x"):
        with pytest.raises(ValueError):
            scheduler.parse_jobs(bad)


def test_a_bad_job_list_is_reported_by_the_scheduler(app, runner):
    app.config["INGEST_JOBS"] = "arxiv:nonsense!"
    result = runner.invoke(args=["scheduler"])
    assert result.exit_code == 1 and "PAPERSCOUT_INGEST" in result.output


def test_the_scheduler_process_waits_for_its_time_and_stops_on_sigterm(tmp_path: Path):
    variables = {
        "PAPERSCOUT_INGEST": "hf",
        "PAPERSCOUT_INGEST_CRON": "0 0 1 1 *",  # not during this test
        "PAPERSCOUT_HF_API_URL": "http://127.0.0.1:9/unused",
    }
    with scheduler_process(tmp_path, **variables) as process:
        lines = log_until(process, "scheduler: jobs hf")
        assert any("scheduler: jobs hf at '0 0 1 1 *'" in line for line in lines), lines
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


def test_runs_are_recorded_with_their_parameters(app, runner, upstream):
    upstream.route(DAILY, HF_PAGE)
    invoke(runner, "ingest", "hf", "--date", "2024-01-10")
    with app.app_context():
        run = db.session.scalar(select(IngestRun))
        assert (run.source, run.params, run.status) == ("hf", {"date": "2024-01-10"}, "ok")
        assert run.finished_at >= run.started_at
