"""Retraining: read the database, fit, publish a model version, and keep the bookkeeping consistent.

A retrain can be killed at any moment. It records before it flips: the version is written without becoming
current, its ``model_versions`` row is committed, and only then does ``current`` point at it; so a served
version always has its row. Every retrain starts by reconciling what a killed one (or an older release, which
flipped first) may have left: versions on disk without a row get one from their manifest, and temporaries of
dead writers are removed. That runs under an exclusive lock on the model directory, which every retrain
holds for its whole run, so two retrains never interleave and any temporary found under the lock is stale.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from flask import current_app
from sqlalchemy import Float, Select, String, cast, func, select
from sqlalchemy.orm import Session

from recommender import InteractionColumns, PaperDoc, StageClock, load_config, store, train
from server.db import db
from server.models import Interaction, ModelVersion, Paper
from server.services import erasure
from server.services.new_papers import PAPER_DOC_COLUMNS, paper_doc

log = logging.getLogger(__name__)

KEEP_VERSIONS = 5


class RetrainBusy(RuntimeError):
    """Another retrain holds the model directory."""


READ_CHUNK = 50_000  # rows per fetch: columns are converted to arrays a chunk at a time


def _interactions(session: Session, paper_ids: np.ndarray) -> InteractionColumns:
    """The whole log as arrays, streamed in chunks; papers as rows of the catalog read in ``paper_ids`` order
    (sorted), -1 for any other. Times are read as text on SQLite (its storage) and parsed in bulk, as epoch
    seconds on PostgreSQL, so no row becomes a Python datetime."""
    if session.get_bind().dialect.name == "sqlite":
        when = cast(Interaction.occurred_at, String)
    else:
        when = cast(func.extract("epoch", Interaction.occurred_at), Float)
    query = select(Interaction.user_id, Interaction.paper_id, Interaction.type, when)
    chunks = []
    for part in _driver_rows(session, query):
        users, papers, types, times = zip(*part, strict=True)
        at = np.searchsorted(paper_ids, np.asarray(papers, dtype=np.int64))
        found = paper_ids[np.minimum(at, len(paper_ids) - 1)] == papers if len(paper_ids) else np.zeros(len(at), bool)
        if isinstance(times[0], str):
            seconds = np.asarray(times, dtype="datetime64[us]").astype(np.int64) / 1e6
        else:
            seconds = np.asarray(times, dtype=np.float64)
        chunks.append(
            InteractionColumns(
                np.asarray(users, dtype=np.int64), np.where(found, at, -1), np.asarray(types, dtype=str), seconds
            )
        )
    return InteractionColumns.concatenate(chunks)


def _driver_rows(session: Session, query: Select) -> Iterator[list[tuple]]:
    """The rows of ``query`` (no parameters) as the database driver's tuples, ``READ_CHUNK`` at a time: the
    ORM's and the engine's row objects cost three times the driver's fetch (10M interactions: about two and a
    half minutes). PostgreSQL streams them through a server-side cursor."""
    connection = session.connection()
    compiled = query.compile(dialect=connection.dialect)
    if compiled.params:
        raise ValueError("_driver_rows reads queries without parameters")
    driver = connection.connection.driver_connection
    postgres = connection.dialect.name == "postgresql"
    cursor = driver.cursor(name="paperscout_retrain_read") if postgres else driver.cursor()
    try:
        cursor.execute(str(compiled))
        while part := cursor.fetchmany(READ_CHUNK):
            yield part
    finally:
        cursor.close()


def _papers(session: Session) -> tuple[list[PaperDoc], np.ndarray]:
    """The catalog in id order, and the ids."""
    query = select(Paper.id, *PAPER_DOC_COLUMNS).order_by(Paper.id).execution_options(yield_per=READ_CHUNK)
    docs, ids = [], []
    for part in session.execute(query).partitions():
        ids.append(np.fromiter((row[0] for row in part), dtype=np.int64, count=len(part)))
        docs.extend(paper_doc(row) for row in part)
    return docs, (np.concatenate(ids) if ids else np.zeros(0, np.int64))


def reconcile_versions(session: Session, root: Path) -> list[str]:
    """Give every complete version on disk that has no ``model_versions`` row one, from its manifest (a retrain
    killed between writing and recording, or one of a release that flipped ``current`` before recording).
    Returns the versions recorded."""
    known = set(session.scalars(select(ModelVersion.version)))
    added = []
    for version in store.list_versions(root):
        if version in known:
            continue
        path = root / store.VERSIONS / version
        try:
            session.add(_row(version, path, store.read_manifest(path)))
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("model version %s has an unreadable manifest; not recorded", version)
            continue
        added.append(version)
    session.commit()
    if added:
        log.info("recorded model versions found on disk without a row: %s", ", ".join(added))
    return added


def _row(version: str, path: Path, manifest: dict[str, Any]) -> ModelVersion:
    return ModelVersion(
        version=version,
        path=str(path),
        created_at=datetime.fromisoformat(manifest["created_at"]),
        params=manifest.get("config") or {},
        metrics=manifest.get("metrics") or {},
        counts=manifest.get("counts") or {},
    )


def run_retrain(*, progress: bool = True, config_path: Path | None = None, wait: bool = False) -> dict[str, Any]:
    """Read papers and interactions, fit, evaluate, publish a new version and flip ``current``.

    Raises :class:`RetrainBusy` when another retrain runs on the same model directory (``wait=True`` waits for
    it instead), ``ValueError`` when there is nothing to train on or the config is bad."""
    root = Path(current_app.config["MODEL_DIR"])
    try:
        with store.exclusive_lock(root, store.RETRAIN_LOCK, wait=wait):
            return _retrain_locked(root, progress=progress, config_path=config_path)
    except store.StoreBusy:
        raise RetrainBusy(
            f"another retrain is running on {root}; try again when it has finished (or pass --wait)"
        ) from None


def _retrain_locked(root: Path, *, progress: bool, config_path: Path | None) -> dict[str, Any]:
    started = time.perf_counter()
    clock = StageClock()
    session = db.session
    read_erasures = erasure.reader(current_app.extensions["paperscout_db"].new_session)
    removed = store.remove_temporaries(root)
    if removed:
        log.info("removed temporaries of dead writers: %s", ", ".join(removed))
    reconcile_versions(session, root)
    erasure.purge_versions(root, read_erasures)  # what a failed purge may have left pending
    config = load_config(config_path)
    # Read before the interactions: every erasure up to it has its rows deleted from what we read next.
    erased_through = erasure.last_erasure(session)
    with clock.stage("read"):
        papers, paper_ids = _papers(session)
        rows = _interactions(session, paper_ids)
        session.rollback()  # end the read transaction before the long fit
    result = train(papers, rows, config=config, progress=progress)
    clock.add_all(result.seconds)
    del rows
    with clock.stage("write"):
        version = store.save(
            result.model,
            root,
            counts=result.counts,
            metrics=result.metrics,
            make_current=False,
            erased_through=erased_through,
        )
    erasure.purge_versions(root, read_erasures)  # users erased while we trained
    path = root / store.VERSIONS / version
    session.add(_row(version, path, store.read_manifest(path)))
    session.commit()  # recorded before it can be served
    store.set_current(root, version)
    store.prune(root, keep=KEEP_VERSIONS)
    return {
        "version": version,
        "seconds": round(time.perf_counter() - started, 2),
        "stages": clock.rounded(),
        "counts": result.counts,
        "metrics": result.metrics,
    }
