"""One background job per key and process: trending refreshes and cursor moves run beside the requests."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable

log = logging.getLogger(__name__)


def run_once(
    running: set, lock: threading.Lock, key: Hashable, name: str, work: Callable[[], None], failure: str
) -> threading.Thread | None:
    """Run ``work`` in a daemon thread named ``name``, unless ``running`` (guarded by ``lock``) says a job with
    ``key`` is already running; None then. A failure is logged with ``failure`` and ends the job: the next
    caller tries again."""
    with lock:
        if key in running:
            return None
        running.add(key)

    def run() -> None:
        try:
            work()
        except Exception:  # noqa: BLE001 - logged; the callers' data stays as it was
            log.exception(failure)
        finally:
            with lock:
                running.discard(key)

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread
