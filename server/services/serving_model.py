"""The model serving in this process: loaded from the model directory, swapped whole when a retrain publishes a
new ``current`` version (requests already running keep the model object they started with), and replaced by a
copy without the rows of users erased since (see :mod:`server.services.erasure`).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import current_app
from threadpoolctl import threadpool_limits

from recommender import HybridRecommender, store
from server.services import erasure
from server.services.trending import TrendingSettings, packaged_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedModel:
    version: str
    model: HybridRecommender
    manifest: dict[str, Any]
    created_at: datetime | None
    erased_through: int = 0  # the model holds no row of a user erased up to this erasure id

    @property
    def trending_settings(self) -> TrendingSettings:
        """The trending settings this model was trained with (``retrain --config`` may have changed them)."""
        return TrendingSettings.from_config(self.model.config_.trending.to_dict())


class ModelHolder:
    """Holds the current model of one app; checks the ``current`` pointer and new erasures at most every few
    seconds. ``read_erasures(through)`` lists the erasures with ids above ``through``."""

    def __init__(self, root: Path, check_seconds: float, read_erasures: Callable[[int], erasure.Erasures]) -> None:
        self.root = root
        self.check_seconds = check_seconds
        self.read_erasures = read_erasures
        self._loaded: LoadedModel | None = None
        self._checked_at = float("-inf")
        self._lock = threading.Lock()

    def get(self) -> LoadedModel | None:
        if time.monotonic() - self._checked_at >= self.check_seconds:
            self._refresh(blocking=False)
        return self._loaded

    def reload(self) -> LoadedModel | None:
        """Check the pointer now instead of waiting for the next periodic check."""
        self._checked_at = float("-inf")
        return self.get()

    def sync(self) -> LoadedModel | None:
        """Check the pointer and erasures now, waiting for a check already running (after an erasure)."""
        self._refresh(blocking=True)
        return self._loaded

    def _refresh(self, *, blocking: bool) -> None:
        if not self._lock.acquire(blocking=blocking):
            return  # another thread is already loading; keep serving the model we have
        try:
            self._checked_at = time.monotonic()
            loaded = self._loaded
            version = store.current_version(self.root)
            if version is not None and (loaded is None or loaded.version != version):
                loaded = self._load(version)
            if loaded is not None:
                loaded = self._without_erased(loaded)
            # One assignment: requests read either the previous model object or this one, never a mix.
            self._loaded = loaded
        except Exception:
            # A broken or half-written version, or an unreadable erasure log, must never take serving down:
            # keep the previous model (and try again at the next check).
            log.exception("could not refresh the model from %s; keeping the previous one", self.root)
        finally:
            self._lock.release()

    def _load(self, version: str) -> LoadedModel:
        started = time.perf_counter()
        model = store.load(self.root / store.VERSIONS / version)
        manifest = model.manifest_
        created = manifest.get("created_at")
        log.info("loaded model %s in %.2fs", version, time.perf_counter() - started)
        return LoadedModel(
            version, model, manifest, datetime.fromisoformat(created) if created else None, model.erased_through_
        )

    def _without_erased(self, loaded: LoadedModel) -> LoadedModel:
        erased = self.read_erasures(loaded.erased_through)
        if not erased:
            return loaded
        model = loaded.model.without_users([user for _, user in erased])  # a new object when rows go
        log.info("model %s: erasures up to %d applied", loaded.version, erased[-1][0])
        return dataclasses.replace(loaded, model=model, erased_through=erased[-1][0])


def init_app(app: Any) -> None:
    """Check the serving settings and hold this app's model (loaded at its first use)."""
    # A request is a few small dense solves and products; BLAS worker threads only fight the other workers for
    # the cores (measured: a 256-factor fold-in took 95 ms with OpenBLAS's default threads, 4 ms with one).
    threadpool_limits(limits=int(app.config["BLAS_THREADS"]), user_api="blas")
    if int(app.config["PRIVACY_MIN_READERS"]) < 1:
        raise ValueError(f"PAPERSCOUT_PRIVACY_MIN_READERS must be >= 1, got {app.config['PRIVACY_MIN_READERS']!r}")
    app.extensions["paperscout_model"] = ModelHolder(
        Path(app.config["MODEL_DIR"]),
        float(app.config["MODEL_CHECK_SECONDS"]),
        erasure.reader(app.extensions["paperscout_db"].new_session),
    )


def reload_model() -> LoadedModel | None:
    return current_app.extensions["paperscout_model"].reload()


def current_model() -> LoadedModel | None:
    return current_app.extensions["paperscout_model"].get()


def apply_erasures() -> None:
    """After an erasure commits: this process's model drops the user's row now, and so does every kept version
    on disk (other processes follow at their next check). Failures are logged, not raised: the account is
    already gone, and the next check (or retrain) applies what is still pending."""
    holder: ModelHolder = current_app.extensions["paperscout_model"]
    holder.sync()
    try:
        erasure.purge_versions(holder.root, holder.read_erasures)
    except Exception:
        log.exception("could not purge erased users from the model versions in %s", holder.root)


def min_readers() -> int:
    """k: reasons never state a count of fewer than k distinct readers."""
    return int(current_app.config["PRIVACY_MIN_READERS"])


def trending_settings(loaded: LoadedModel | None) -> TrendingSettings:
    """Trending as the serving model was trained to see it; the packaged defaults before any model exists."""
    return loaded.trending_settings if loaded is not None else packaged_settings()
