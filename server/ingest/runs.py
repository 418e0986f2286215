"""Recorded runs: every ingest is a row of ingest_runs, stored page by page.

Each page is parsed whole before it is stored, then stored in one transaction with the run's counters (and, for
OAI-PMH, the token to resume after it). A failure therefore never leaves half a page or half a paper behind:
the pages stored before it stay (whole papers, and re-running is idempotent), the failing page stores nothing,
and the run is marked failed with the reason in one line.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from tqdm import tqdm

from server.db import immediate_writes
from server.ingest.http import UpstreamError
from server.ingest.records import BrokenPage, Page
from server.ingest.storage import StoreCounts, store_papers
from server.models import IngestRun, OaiHarvest

logger = logging.getLogger("server.ingest")

MAX_PROBLEMS = 50  # skipped entries whose reasons a run keeps (all are logged)


class Stopped(RuntimeError):
    """The scheduler is shutting down: the run ends after the page it was storing."""


EXPECTED_FAILURES = (UpstreamError, BrokenPage, Stopped)


def one_line(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt | SystemExit):
        return "interrupted"
    text = " ".join(str(exc).split()) or type(exc).__name__
    if not isinstance(exc, EXPECTED_FAILURES):
        text = f"{type(exc).__name__}: {text}"
    return text[:500]


class Progress:
    """A tqdm bar on a terminal; elsewhere (cron, systemd, the scheduler's log) one plain log line per page."""

    def __init__(self, label: str, *, enabled: bool | None = None) -> None:
        self.label = label
        self.done = 0
        use_bar = sys.stderr.isatty() if enabled is None else enabled
        self.bar = tqdm(desc=label, unit=" entries", file=sys.stderr, dynamic_ncols=True) if use_bar else None

    def advance(self, entries: int, total: int | None, run: IngestRun) -> None:
        self.done += entries
        counts = f"new {run.new}, updated {run.updated}, skipped {run.failed}"
        if self.bar is not None:
            if total and self.bar.total != total:
                self.bar.total = total
            self.bar.set_postfix_str(counts, refresh=False)
            self.bar.update(entries)
        else:
            of = f" of {total}" if total else ""
            logger.info("%s: %d%s entries read; %s", self.label, self.done, of, counts)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def close_interrupted_runs(session: Session) -> None:
    """Runs still marked running belong to a process that died (the caller holds the ingest lock)."""
    session.execute(
        update(IngestRun)
        .where(IngestRun.status == "running")
        .values(status="failed", error="interrupted: the process stopped before the run finished", finished_at=_now())
    )
    session.commit()


def _now() -> datetime:
    return datetime.now(UTC)


def _record_page(run: IngestRun, page: Page, counts: StoreCounts) -> None:
    run.fetched += len(page.papers)
    run.new += counts.new
    run.updated += counts.updated
    run.failed += len(page.skipped)
    for skip in page.skipped:
        logger.warning("ingest %s: skipped %s", run.source, skip)
    room = MAX_PROBLEMS - len(run.problems or [])
    if page.skipped and room > 0:
        run.problems = [*(run.problems or []), *(str(skip)[:300] for skip in page.skipped[:room])]


def _store_page(session: Session, run: IngestRun, page: Page) -> None:
    with immediate_writes():
        counts = store_papers(session, page.papers)
        if page.on_commit is not None:
            page.on_commit(session)
        _record_page(run, page, counts)
        session.commit()
    # bulk updates bypass the identity map: forget what this page loaded
    session.expire_all()


def execute(
    session: Session,
    source: str,
    params: dict[str, Any],
    pages: Callable[[], Iterable[Page]],
    *,
    progress: bool | None = None,
    stop: threading.Event | None = None,
) -> IngestRun:
    """Run one ingest: store every page ``pages()`` yields and record the outcome (never raises for upstream
    failures: the run comes back failed with its reason). The caller holds the ingest lock."""
    close_interrupted_runs(session)
    run = IngestRun(source=source, params=params, status="running", started_at=_now(), problems=[])
    session.add(run)
    session.commit()
    bar = Progress(f"ingest {source}", enabled=progress)
    try:
        for page in pages():
            _store_page(session, run, page)
            bar.advance(len(page.papers) + len(page.skipped), page.total, run)
            if stop is not None and stop.is_set():
                raise Stopped("stopped: the scheduler was shut down (a resumable OAI harvest goes on next time)")
    except BaseException as exc:
        session.rollback()
        run.status, run.error, run.finished_at = "failed", one_line(exc), _now()
        session.commit()
        if isinstance(exc, EXPECTED_FAILURES):
            logger.error("ingest %s: run %s failed: %s", source, run.id, run.error)
        elif isinstance(exc, Exception):
            logger.exception("ingest %s: run %s failed", source, run.id)
        else:
            raise  # Ctrl-C and exits: recorded, then let through
    else:
        run.status, run.finished_at = "ok", _now()
        session.commit()
        logger.info("%s", summary_line(run))
    finally:
        bar.close()
    # a loaded snapshot, out of the session: later runs' expire_all and a closed session leave it readable
    session.refresh(run)
    session.expunge(run)
    return run


def summary_line(run: IngestRun) -> str:
    seconds = (run.finished_at - run.started_at).total_seconds() if run.finished_at else None
    took = f" in {seconds:.1f} s" if seconds is not None else ""
    line = (
        f"run {run.id} {run.source} {run.status}: fetched {run.fetched}, new {run.new}, updated {run.updated}, "
        f"skipped {run.failed}{took}"
    )
    return f"{line}; {run.error}" if run.error else line


def recent_runs(session: Session, limit: int = 20) -> list[IngestRun]:
    return list(session.scalars(select(IngestRun).order_by(IngestRun.id.desc()).limit(limit)))


def latest_by_source(session: Session) -> dict[str, IngestRun]:
    """The latest run of each source."""
    latest = select(func.max(IngestRun.id)).group_by(IngestRun.source)
    runs = session.scalars(select(IngestRun).where(IngestRun.id.in_(latest)).order_by(IngestRun.source))
    return {run.source: run for run in runs}


def last_success(session: Session) -> dict[str, datetime]:
    """When each source last finished a run without failing."""
    query = select(IngestRun.source, func.max(IngestRun.finished_at)).where(IngestRun.status == "ok")
    return dict(session.execute(query.group_by(IngestRun.source)).all())


def oai_states(session: Session) -> list[OaiHarvest]:
    return list(session.scalars(select(OaiHarvest).order_by(OaiHarvest.set_spec)))
