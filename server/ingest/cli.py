"""`flask --app server ingest ...` and `flask --app server scheduler`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import click
from apscheduler.triggers.cron import CronTrigger
from flask import Flask, current_app
from flask.cli import with_appcontext

from server.db import db
from server.ingest import jobs, runs, scheduler
from server.ingest.lock import LockHeld, ingest_lock
from server.models import IngestRun

DAY = click.DateTime(formats=["%Y-%m-%d"])


def init_app(app: Flask) -> None:
    app.cli.add_command(ingest_group)
    app.cli.add_command(scheduler_command)


def _locked(body: Callable[[jobs.IngestContext], Any]) -> Any:
    """Run ``body`` under the ingest lock with a fresh upstream client; a held lock is a one-line error."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        with ingest_lock(app):
            ctx = jobs.IngestContext.create(db.session, app.config)
            try:
                return body(ctx)
            except ValueError as exc:
                raise click.UsageError(str(exc)) from None
            finally:
                ctx.client.close()
    except LockHeld as exc:
        raise click.ClickException(str(exc)) from None


def _report(run: IngestRun) -> None:
    if run.status == "failed":
        raise click.ClickException(runs.summary_line(run))
    click.echo(runs.summary_line(run))


@click.group("ingest")
def ingest_group() -> None:
    """Fetch papers from arXiv and Hugging Face into the catalog (docs/ingestion.md)."""


@ingest_group.command("arxiv")
@with_appcontext
@click.option("--category", "categories", multiple=True, required=True, help="arXiv category (repeatable).")
@click.option("--since", type=DAY, help="Submitted on or after this day (UTC).")
@click.option("--days", type=click.IntRange(1, 3650), help="Submitted in the last N days (default 2).")
def arxiv_command(categories: tuple[str, ...], since: datetime | None, days: int | None) -> None:
    """Papers submitted to these categories recently, from the arXiv API (one request every few seconds)."""
    if since is not None and days is not None:
        raise click.UsageError("give --since or --days, not both")
    end = datetime.now(UTC)
    start = since.replace(tzinfo=UTC) if since is not None else end - timedelta(days=days or 2)
    _report(_locked(lambda ctx: jobs.ingest_arxiv(ctx, categories, start, end)))


@ingest_group.command("rss")
@with_appcontext
@click.option("--category", "categories", multiple=True, required=True, help="arXiv category (repeatable).")
def rss_command(categories: tuple[str, ...]) -> None:
    """Today's announcements of these categories (new and cross-listed papers; replacements update versions)."""
    _report(_locked(lambda ctx: jobs.ingest_rss(ctx, categories)))


@ingest_group.command("oai")
@with_appcontext
@click.option("--set", "set_spec", required=True, help="OAI-PMH set: cs, math, physics:hep-th, ...")
@click.option("--from", "from_day", type=DAY, help="Records changed on or after this day.")
@click.option("--until", "until_day", type=DAY, help="Records changed on or before this day.")
def oai_command(set_spec: str, from_day: datetime | None, until_day: datetime | None) -> None:
    """Bulk harvest over OAI-PMH; an interrupted harvest resumes where it stopped, a finished one continues
    from the day it reached."""
    start = from_day.date() if from_day else None
    until = until_day.date() if until_day else None
    _report(_locked(lambda ctx: jobs.ingest_oai(ctx, set_spec, start, until)))


@ingest_group.command("hf")
@with_appcontext
@click.option("--date", "day", type=DAY, help="The day's page (default: today, UTC).")
def hf_command(day: datetime | None) -> None:
    """Hugging Face daily papers of one day, with their upvotes."""
    chosen: date = day.date() if day else datetime.now(UTC).date()
    _report(_locked(lambda ctx: jobs.ingest_hf(ctx, chosen)))


@ingest_group.command("resolve")
@with_appcontext
def resolve_command() -> None:
    """Describe papers that have no title or abstract from the arXiv API; list those that are not on arXiv."""
    run, bare = _locked(jobs.ingest_resolve)
    if bare.others:
        click.echo(f"{len(bare.others)} papers without an arXiv id left as they are:")
        for key in bare.others:
            click.echo(f"  {key}")
    if bare.unresolved:
        click.echo(f"{len(bare.unresolved)} arXiv papers the API did not describe: {', '.join(bare.unresolved[:20])}")
    _report(run)


@ingest_group.command("run")
@with_appcontext
def run_configured_command() -> None:
    """Run the configured jobs (PAPERSCOUT_INGEST) once, as the scheduler does; for cron or a systemd timer."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        done = scheduler.run_configured(app, progress=None)
    except (LockHeld, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    if not done:
        click.echo("no ingest jobs configured (PAPERSCOUT_INGEST is empty)")
    for run in done:
        click.echo(runs.summary_line(run))
    if any(run.status == "failed" for run in done):
        raise click.ClickException(f"{sum(run.status == 'failed' for run in done)} of {len(done)} runs failed")


@ingest_group.command("status")
@with_appcontext
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="Runs to show.")
def status_command(limit: int) -> None:
    """The latest runs, and where each OAI-PMH harvest stands."""
    session = db.session
    recent = runs.recent_runs(session, limit)
    if not recent:
        click.echo("no ingest runs yet")
    for run in recent:
        click.echo(f"{run.started_at:%Y-%m-%d %H:%M} {runs.summary_line(run)}")
    for state in runs.oai_states(session):
        if state.resumption_token:
            where = f"unfinished (from {state.from_date}; {state.cursor or 0} of {state.complete_list_size or '?'})"
        else:
            where = f"harvested through {state.harvested_through}"
        click.echo(f"oai set {state.set_spec}: {where}")


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run the configured ingest jobs, and the digest job when an SMTP server is configured, on their schedules
    until stopped; with neither configured, exit at once."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        specs = scheduler.parse_jobs(app.config["INGEST_JOBS"])
    except ValueError as exc:
        raise click.ClickException(f"PAPERSCOUT_INGEST: {exc}") from None
    if not specs and not app.config["SMTP_URL"]:
        click.echo(
            "scheduler: no ingest jobs configured (PAPERSCOUT_INGEST is empty) and no digest "
            "(PAPERSCOUT_SMTP_URL is empty); nothing to do"
        )
        return
    for name, variable in (("INGEST_CRON", "PAPERSCOUT_INGEST_CRON"), ("DIGEST_CRON", "PAPERSCOUT_DIGEST_CRON")):
        try:
            CronTrigger.from_crontab(app.config[name], timezone=UTC)
        except ValueError as exc:
            raise click.ClickException(f"{variable}: {exc}") from None
    scheduler.serve(app, app.config)
