"""The cold-start rows of papers added after the last retrain, each paper mapped once per served model.

Mapping a paper is a neighbour search over the whole catalog's n-gram vectors: about 17 ms a paper at 20,000
papers, seconds a call at a million (docs/performance.md, "New papers after a retrain"). A server passes the
same new papers on every request, plus each newly ingested one, so the cache maps a paper once (by key, title
and abstract: an edited text is mapped anew). A request maps papers itself only while the blocks it would map
fit its time budget (a block's time is measured; before the first, only a catalog under
:data:`SYNC_MAX_ITEMS` papers is assumed to fit); the others go to one background thread per cache, and the
request ranks them without their cold-start score until it has mapped them. So no request waits seconds for a
mapping, whatever the catalog's size. With :meth:`NewPaperCache.share` the background thread shares its rows
with the other processes serving the same model version (:mod:`~recommender.serving.new_paper_files`).
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from recommender.coldstart import ColdStartScorer, NewPapers, new_paper_text
from recommender.serving.new_paper_files import SharedNewPapers, paper_id
from recommender.serving.types import PaperDoc

log = logging.getLogger(__name__)

# A request maps new papers MAP_BLOCK at a time while the next block fits MAP_SECONDS.
MAP_BLOCK = 16
MAP_SECONDS = 0.2
# Below this many catalog papers a block is assumed to fit before one has been timed (20,000 papers: about
# 0.1 s for 16); from it on, the first papers go to the background rather than risk a request on a guess.
SYNC_MAX_ITEMS = 50_000
# Papers per call in the background: a call's cost is mostly its pass over the catalog, so larger blocks map
# a backlog faster (16 papers cost twice one paper at a million papers), within a block's dense similarities
# (64 x 1M float32: 256 MB).
BACKGROUND_BLOCK = 64

Signature = tuple[str, str, str]


class NewPaperCache:
    """The scorer's rows of the new papers mapped so far; see the module docstring."""

    def __init__(
        self,
        scorer: ColdStartScorer,
        *,
        block: int = MAP_BLOCK,
        seconds: float = MAP_SECONDS,
        max_papers: int = 50_000,
        background_block: int = BACKGROUND_BLOCK,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.scorer = scorer
        self.block = block
        self.seconds = seconds
        self.max_papers = max_papers
        self.background_block = background_block
        self.clock = clock
        self._mapped: NewPapers | None = None
        self._row: dict[Signature, int] = {}
        self._block_seconds: float | None = None  # the last block of at most ``block`` papers took this long
        self._pending: dict[Signature, PaperDoc] = {}
        self._shared: SharedNewPapers | None = None
        self._by_id: dict[str, int] = {}  # rows of the papers mapped by any process sharing them, by paper_id
        self._worker: threading.Thread | None = None
        self._lock = threading.Lock()

    def papers(self, docs: Sequence[PaperDoc], *, every: bool = False) -> tuple[NewPapers | None, np.ndarray]:
        """The mapped rows of ``docs`` (in order, those mapped so far; None when none is) and a mask over
        ``docs`` of which they are. Maps others first while a block fits the time budget and hands the rest to
        the background (``every``: maps all of them now)."""
        # the fields themselves, not the joined text: a string's hash is computed once, so a hit costs little
        signatures = [(d.key, d.title, d.abstract) for d in docs]
        with self._lock:
            missing = [i for i, s in enumerate(signatures) if s not in self._row]
        left = self._map_now(missing, signatures, docs, every)
        with self._lock:
            rows = np.array([self._row.get(s, -1) for s in signatures], dtype=np.int64)
            mapped = self._mapped
        if left:
            self._queue([signatures[i] for i in left], [docs[i] for i in left])
        found = rows >= 0
        if mapped is None or not found.any():
            return None, found
        if found.all() and len(rows) == mapped.n and np.array_equal(rows, np.arange(mapped.n)):
            return mapped, found
        return mapped.take(rows[found]), found

    def share(self, directory: str | Path) -> NewPaperCache:
        """Share the background thread's rows through ``directory`` (the served version's; see
        :mod:`~recommender.serving.new_paper_files`). Returns this cache."""
        self._shared = SharedNewPapers(directory)
        return self

    def pending(self) -> int:
        """How many papers wait for the background thread."""
        with self._lock:
            return len(self._pending)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the background thread has mapped every paper handed to it; False on ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                worker = self._worker
            if worker is None:
                return True
            worker.join(None if deadline is None else max(deadline - time.monotonic(), 0.0))
            if deadline is not None and time.monotonic() >= deadline and worker.is_alive():
                return False

    def _map_now(
        self, missing: list[int], signatures: list[Signature], docs: Sequence[PaperDoc], every: bool
    ) -> list[int]:
        """Map ``missing`` in this call, ``block`` at a time while the next block fits; those left over."""
        if every:
            if missing:
                self._add([signatures[i] for i in missing], [docs[i] for i in missing])
            return []
        started = self.clock()
        for lo in range(0, len(missing), max(self.block, 1)):
            expected = self._block_seconds
            if expected is None:
                expected = 0.0 if self.scorer.n_items_ < SYNC_MAX_ITEMS else float("inf")
            if self.clock() - started + expected > self.seconds:
                return missing[lo:]
            todo = missing[lo : lo + self.block]
            block_started = self.clock()
            self._add([signatures[i] for i in todo], [docs[i] for i in todo])
            self._block_seconds = self.clock() - block_started
        return []

    def _queue(self, signatures: list[Signature], docs: list[PaperDoc]) -> None:
        with self._lock:
            for s, d in zip(signatures, docs, strict=True):
                self._pending.setdefault(s, d)
            if self._worker is None:
                self._worker = threading.Thread(target=self._drain, name="paperscout-new-papers", daemon=True)
                self._worker.start()

    def _drain(self) -> None:
        """The background thread: map pending papers ``background_block`` at a time until none is left."""
        while True:
            with self._lock:
                batch = [(s, d) for s, d in itertools.islice(self._pending.items(), self.background_block)]
                if not batch:
                    self._worker = None
                    return
            try:
                if self._shared is not None:
                    self._add_shared(batch)
                else:
                    self._add([s for s, _ in batch], [d for _, d in batch])
            except Exception as exc:  # a paper that cannot be mapped is ranked without its cold-start score
                log.error("mapping %d new papers failed: %s", len(batch), exc)
            with self._lock:
                for s, _ in batch:
                    self._pending.pop(s, None)

    def _add_shared(self, batch: list[tuple[Signature, PaperDoc]]) -> None:
        """Map ``batch`` under the shared directory's lock: take what other processes mapped, map the rest and
        write it for them. A directory that cannot be used turns the sharing off."""
        assert self._shared is not None
        try:
            with self._shared.locked():
                for ids, rows in self._shared.unread():
                    self._append(rows, [], ids)
                todo = self._link_known(batch)
                if todo:
                    signatures, docs, ids = (list(column) for column in zip(*todo, strict=True))
                    self._shared.write(ids, self._add(signatures, docs, ids))
        except OSError as exc:
            log.warning("new papers are not shared: %s", exc)
            self._shared = None
            rest = [(s, d) for s, d in batch if s not in self._row]
            if rest:
                self._add([s for s, _ in rest], [d for _, d in rest])

    def _link_known(self, batch: list[tuple[Signature, PaperDoc]]) -> list[tuple[Signature, PaperDoc, str]]:
        """Rows for the papers of ``batch`` that some process has mapped; the others, with their ids."""
        todo = []
        with self._lock:
            for signature, doc in batch:
                known = self._by_id.get(i := paper_id(*signature))
                if known is None:
                    todo.append((signature, doc, i))
                else:
                    self._row[signature] = known
        return todo

    def _add(self, signatures: list[Signature], docs: Sequence[PaperDoc], ids: Sequence[str] = ()) -> NewPapers:
        fresh = self.scorer.transform([new_paper_text(d.title, d.abstract) for d in docs])
        self._append(fresh, signatures, ids)
        return fresh

    def _append(self, fresh: NewPapers, signatures: Sequence[Signature], ids: Sequence[str]) -> None:
        """Add the rows ``fresh``, known by ``signatures`` in this process and by ``ids`` across processes."""
        with self._lock:
            if self._mapped is not None and self._mapped.n + fresh.n > self.max_papers:
                # a bound on memory: start again from the papers asked now
                self._mapped, self._row, self._by_id = None, {}, {}
            start = 0 if self._mapped is None else self._mapped.n
            self._mapped = fresh if self._mapped is None else self._mapped.stacked(fresh)
            self._row.update((s, start + j) for j, s in enumerate(signatures))
            self._by_id.update((i, start + j) for j, i in enumerate(ids))
