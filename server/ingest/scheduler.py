"""The configured ingest jobs (PAPERSCOUT_INGEST) and the long-running scheduler that starts them.

``PAPERSCOUT_INGEST`` lists jobs separated by spaces: ``arxiv:cs.LG,cs.CL`` (API search of the last
ARXIV_DAYS days), ``rss:cs.LG,cs.CL`` (today's announcements), ``oai:cs`` (incremental OAI-PMH harvest of a set),
``hf`` (Hugging Face daily papers of yesterday and today) and ``resolve`` (describe bare papers). They run one
after the other under the ingest lock, at the times of PAPERSCOUT_INGEST_CRON (UTC), and a retrain follows when
they added or changed papers. With nothing configured there is no job and no network access at all.

With PAPERSCOUT_SMTP_URL set, the same scheduler also runs the digest job (server/digest/run.py) at the times
of PAPERSCOUT_DIGEST_CRON (UTC; every quarter hour by default): each user's own hour and zone decide who is due.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask

from server.digest.run import scheduled_digests
from server.ingest import jobs
from server.ingest.lock import LockHeld, ingest_lock
from server.models import IngestRun
from server.services.training import run_retrain

logger = logging.getLogger("server.ingest")

SOURCES = ("arxiv", "rss", "oai", "hf", "resolve")
ONCE = {"max_instances": 1, "coalesce": True}  # a late or slow run is never doubled
ARXIV_DAYS = 3  # submissions are announced a day or more later, and weekends pile up: look back three days


@dataclass(frozen=True)
class JobSpec:
    source: str
    args: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.source}:{','.join(self.args)}" if self.args else self.source


def parse_jobs(text: str) -> list[JobSpec]:
    """``arxiv:cs.LG,cs.CL hf`` -> job specs; ValueError naming the first bad one."""
    specs: list[JobSpec] = []
    for token in text.split():
        source, _, rest = token.partition(":")
        args = tuple(a for a in rest.split(",") if a)
        if source not in SOURCES:
            raise ValueError(f"unknown ingest job {token!r} (sources: {', '.join(SOURCES)})")
        if source in ("arxiv", "rss"):
            jobs.check_categories(args)
        elif source == "oai" and (len(args) != 1 or not jobs.SET_SPEC.match(args[0])):
            raise ValueError(f"{token!r}: give one OAI-PMH set, e.g. oai:cs")
        elif source in ("hf", "resolve") and args:
            raise ValueError(f"{token!r}: {source} takes no arguments")
        specs.append(JobSpec(source, args))
    return specs


def run_job(ctx: jobs.IngestContext, spec: JobSpec) -> list[IngestRun]:
    now = datetime.now(UTC)
    if spec.source == "arxiv":
        return [jobs.ingest_arxiv(ctx, spec.args, now - timedelta(days=ARXIV_DAYS), now)]
    if spec.source == "rss":
        return [jobs.ingest_rss(ctx, spec.args)]
    if spec.source == "oai":
        return [jobs.ingest_oai(ctx, spec.args[0], None, None)]
    if spec.source == "hf":  # yesterday's page once more: its upvotes kept growing after our last look
        return [jobs.ingest_hf(ctx, now.date() - timedelta(days=1)), jobs.ingest_hf(ctx, now.date())]
    return [jobs.ingest_resolve(ctx)[0]]


def run_configured(
    app: Flask, *, stop: threading.Event | None = None, progress: bool | None = False
) -> list[IngestRun]:
    """Every configured job once, under the ingest lock, then a retrain if papers came or changed.

    Raises LockHeld when another scheduler or a manual run holds the lock.
    """
    specs = parse_jobs(app.config["INGEST_JOBS"])
    if not specs:
        return []
    with ingest_lock(app), app.app_context():
        from server.db import db

        ctx = jobs.IngestContext.create(db.session, app.config, progress=progress, stop=stop)
        runs: list[IngestRun] = []
        try:
            for spec in specs:
                if stop is not None and stop.is_set():
                    break
                runs.extend(run_job(ctx, spec))
        finally:
            ctx.client.close()
        if app.config["INGEST_RETRAIN"] and any(run.new or run.updated for run in runs):
            _retrain()
        return runs


def _retrain() -> None:
    try:
        # a manual retrain may be running: this one waits for it rather than skipping the new papers
        summary = run_retrain(progress=False, wait=True)
    except Exception:  # noqa: BLE001 - the papers are stored; the next retrain picks them up
        logger.exception("scheduler: retrain after ingest failed")
        return
    logger.info("scheduler: retrained, model %s", summary["version"])


def scheduled_job(app: Flask, stop: threading.Event) -> None:
    try:
        runs = run_configured(app, stop=stop)
    except LockHeld as exc:
        logger.warning("scheduler: skipped this time: %s", exc)
        return
    logger.info("scheduler: %d runs, %d failed", len(runs), sum(run.status == "failed" for run in runs))


def serve(app: Flask, config: Mapping[str, Any]) -> None:
    """Run the ingest jobs and the digest job (when an SMTP server is configured) at their times until SIGTERM or
    Ctrl-C (an ingest run in progress ends after its page, a digest run after its current message)."""
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.cron import CronTrigger

    stop = threading.Event()
    scheduler = BackgroundScheduler(timezone=UTC)
    started: list[str] = []
    if parse_jobs(config["INGEST_JOBS"]):
        trigger = CronTrigger.from_crontab(config["INGEST_CRON"], timezone=UTC)
        scheduler.add_job(scheduled_job, trigger, args=[app, stop], id="ingest", misfire_grace_time=3600, **ONCE)
        started.append(f"jobs {config['INGEST_JOBS']} at {config['INGEST_CRON']!r} (UTC)")
    if config["SMTP_URL"]:
        # each user's own hour decides who is due; a run that finds nobody due sends nothing
        trigger = CronTrigger.from_crontab(config["DIGEST_CRON"], timezone=UTC)
        scheduler.add_job(scheduled_digests, trigger, args=[app, stop], id="digest", misfire_grace_time=900, **ONCE)
        started.append(f"digests at {config['DIGEST_CRON']!r} (UTC)")

    def _stop(signum: int, _frame: Any) -> None:
        logger.info("scheduler: %s received, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    scheduler.start()
    for line in started:  # said once the signal handlers are in place: a SIGTERM from now on stops cleanly
        logger.info("scheduler: %s", line)
    while not stop.wait(timeout=1):
        pass
    scheduler.shutdown(wait=True)  # a run in progress sees ``stop`` and ends after the page it is storing
