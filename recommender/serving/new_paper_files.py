"""New papers' cold-start rows shared by every process serving one model version, through its directory.

Each gunicorn worker serves its own copy of the model, and mapping the papers added after the retrain costs
seconds a call at a million papers (docs/performance.md), so without sharing every worker maps the whole
backlog. A worker's background thread holds the directory's lock while it reads the batches others wrote, maps
only what is still missing and writes its own batch: a second worker waits for the first, then reads its rows
instead of mapping the same papers, and a server restarted on the same version finds them mapped. A batch is
one ``.npz`` (loaded without pickle, written to a temporary name and renamed); a paper is known by a hash of
its key, title and abstract, so an edited text is mapped anew. The files go with the version (pruned with it).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from recommender.coldstart import NewPapers
from recommender.store_files import csr_from, csr_parts

DIRECTORY = "new_papers"  # inside a version directory
LOCK = ".lock"
_BATCH_PREFIX = "batch-"


def paper_id(key: str, title: str, abstract: str) -> str:
    """What identifies a mapped paper across processes: its key and the text it was mapped from."""
    return hashlib.sha256("\0".join((key, title, abstract)).encode("utf-8")).hexdigest()[:32]


class SharedNewPapers:
    """The mapped batches in one directory; remembers which of them this process has read."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._read: set[str] = set()

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the directory's lock (other processes wait); creates the directory inside its version's (OSError
        when it cannot, or when the version is gone: a pruned version is not recreated)."""
        from recommender.store import exclusive_lock  # the store imports the serving package

        if not self.directory.parent.is_dir():
            raise FileNotFoundError(f"{self.directory.parent} is gone")
        with exclusive_lock(self.directory, LOCK):
            yield

    def unread(self) -> Iterator[tuple[list[str], NewPapers]]:
        """The batches other processes wrote since the last call: their paper ids and rows. Call it locked."""
        for path in sorted(self.directory.glob(f"{_BATCH_PREFIX}*.npz")):
            if path.name in self._read:
                continue
            self._read.add(path.name)
            with np.load(path, allow_pickle=False) as z:
                arrays = {name: z[name] for name in z.files}
            yield [str(i) for i in arrays["ids"]], _new_papers(arrays)

    def write(self, ids: list[str], rows: NewPapers) -> None:
        """One batch: ``rows`` (mapped by this process) known by ``ids``. Call it locked."""
        arrays: dict[str, np.ndarray] = {"ids": np.asarray(ids, dtype=str), "n": np.asarray(rows.n)}
        arrays["parts"] = np.asarray(sorted(rows.parts), dtype=str)
        for name, part in rows.parts.items():
            arrays.update(_encoded(f"part.{name}", part))
        if rows.neighbours is not None:
            arrays.update(_encoded("neighbours", rows.neighbours))
        name = f"{_BATCH_PREFIX}{uuid.uuid4().hex}.npz"
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **arrays)
            os.replace(tmp, self.directory / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._read.add(name)


def _encoded(prefix: str, value: np.ndarray | sp.csr_matrix) -> dict[str, np.ndarray]:
    return csr_parts(prefix, value) if sp.issparse(value) else {f"{prefix}_dense": np.asarray(value)}


def _decoded(arrays: dict[str, np.ndarray], prefix: str) -> np.ndarray | sp.csr_matrix | None:
    if f"{prefix}_dense" in arrays:
        return arrays[f"{prefix}_dense"]
    return csr_from(arrays, prefix) if f"{prefix}_data" in arrays else None


def _new_papers(arrays: dict[str, np.ndarray]) -> NewPapers:
    parts = {str(name): _decoded(arrays, f"part.{name}") for name in arrays["parts"]}
    neighbours = _decoded(arrays, "neighbours")
    return NewPapers(n=int(arrays["n"]), parts=parts, neighbours=neighbours)  # type: ignore[arg-type]
