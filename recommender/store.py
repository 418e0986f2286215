"""Versioned model artifacts on disk, without pickle.

Layout::

    <root>/current                      the current version id (one line), replaced atomically
    <root>/versions/<version-id>/
        manifest.json                   version, created_at, config, blend weights, counts, metrics, files
        items.npz                       item keys and titles (utf-8 blobs + offsets)
        als.*.npy                       ALS item factors (absent when the model has no CF part)
        text.*.npy, text_vocabulary.json  idf, item vectors (CSR; + transpose in large catalogs); vocabulary
        saves.npz                       user x item saves (CSR parts) for "readers who saved ..." reasons, the
                                        user key of each row and ``erased_through`` (see :func:`purge_users`)
        cooccurrence.*.npy              item x item co-occurrence neighbours (CSR parts) and the number of
                                        readers behind each (``support``); absent with no CF part
        cold_start.*.npy, .json         the cold-start scorer for papers added after training: per text space
                                        idf + catalog vectors; components and vocabularies (absent when
                                        disabled, without CF, or in versions older than it)
        ann_als.usearch                 the ALS candidate index (large catalogs only; serving/candidate_index)
        new_papers/                     rows of papers added after training, mapped by the servers of this
                                        version and shared among them (serving/new_paper_files)

``*.npy`` parts are memory-mapped, shared by all workers (:mod:`~recommender.store_arrays`); older .npz parts load too.

A version is written into ``<root>/.tmp-*`` and renamed into ``versions/`` only when complete; the pointer is
flipped last (write temp file, fsync, ``os.replace``), so a writer killed at any point leaves the previous
version current. Writers of one root take :func:`exclusive_lock` (``RETRAIN_LOCK``), so whatever temporary
they find under it is a dead writer's (:func:`remove_temporaries`). An erased user's rows leave every kept
version through :func:`purge_users`, which rewrites ``saves.npz`` in one ``os.replace``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommender.config import stored_config
from recommender.models import ALSRecommender, ItemCooccurrence, TextModel
from recommender.serving import HybridRecommender, candidate_index, new_paper_files
from recommender.store_arrays import read_part, write_part
from recommender.store_files import (
    csr_from,
    csr_parts,
    fsync_dir,
    fsync_file,
    json_default,
    load_cold_start,
    pack_strings,
    read_saves,
    saves_arrays,
    unpack_strings,
    write_cold_start,
)

log = logging.getLogger(__name__)

FORMAT = 1
POINTER = "current"
VERSIONS = "versions"
_TMP_PREFIX = ".tmp-"
_POINTER_TMP_PREFIX = ".current-"
_PURGE_TMP_PREFIX = ".purge-"
RETRAIN_LOCK = ".retrain.lock"
ERASURE_LOCK = ".erasure.lock"


class StoreBusy(RuntimeError):
    """Another process holds the lock asked for without waiting."""


def new_version_id(now: datetime | None = None) -> str:
    """Sortable, unique id: UTC timestamp plus a random suffix."""
    now = now or datetime.now(UTC)
    return now.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(3)


def save(
    model: HybridRecommender,
    root: str | Path,
    *,
    version: str | None = None,
    counts: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    make_current: bool = True,
    erased_through: int = 0,
) -> str:
    """Write ``model`` as a new version under ``root``; flip ``current`` to it unless ``make_current=False``.

    ``erased_through``: the highest erasure number whose user is known to be absent from the training data
    (erasures up to it are never applied to this version again). Returns the version id.
    """
    model._check_fitted()
    root = Path(root)
    version = version or new_version_id()
    if not version or "/" in version or version.startswith(".") or version != version.strip():
        raise ValueError(f"invalid version id {version!r}")
    final = root / VERSIONS / version
    if final.exists():
        raise ValueError(f"version {version!r} already exists under {root}")
    (root / VERSIONS).mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}{version}-", dir=root))
    try:
        files = _write_parts(model, tmp, erased_through)
        manifest = {
            "format": FORMAT,
            "version": version,
            "created_at": datetime.now(UTC).isoformat(),
            "config": model.config_.to_dict(),
            "blend": model.blend_weights,
            "blend_long_history": model.config_.blend_long_history.to_dict(with_min_items=True),
            "params": {
                "als": model.als_.get_params() if model.als_ is not None else None,
                "text": model.text_.get_params(),
                "cooccurrence": model.cooccurrence_.get_params() if model.cooccurrence_ is not None else None,
            },
            "counts": dict(counts or {}),
            "metrics": dict(metrics or {}),
            "files": files,
            **candidate_index.write(getattr(model, "candidate_index_", None), tmp),
        }
        with open(tmp / "manifest.json", "w", encoding="utf-8") as fh:
            json.dump(manifest, fh, indent=2, sort_keys=True, default=json_default)
        for written in tmp.iterdir():
            fsync_file(written)
        fsync_dir(tmp)
        os.rename(tmp, final)
        fsync_dir(final.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("saved model version %s", version)
    if make_current:
        set_current(root, version)
    return version


def _write_parts(model: HybridRecommender, directory: Path, erased_through: int) -> dict[str, str]:
    files = {"items": "items.npz", "vocabulary": "text_vocabulary.json", "saves": "saves.npz"}
    key_blob, key_off = pack_strings(model.item_ids_.keys.tolist())
    title_blob, title_off = pack_strings(model.item_titles_.tolist())
    np.savez(
        directory / files["items"],
        keys=key_blob,
        key_offsets=key_off,
        titles=title_blob,
        title_offsets=title_off,
    )
    text_arrays = {"idf": model.text_.idf, **csr_parts("vectors", model.text_.item_vectors_)}
    if model.text_.item_terms_ is not None:  # the inverted index of large catalogs
        text_arrays.update(csr_parts("terms", model.text_.item_terms_))
    files["text"] = write_part(directory, "text", text_arrays)
    with open(directory / files["vocabulary"], "w", encoding="utf-8") as fh:
        json.dump(model.text_.vocabulary, fh, ensure_ascii=False)
    np.savez(directory / files["saves"], **saves_arrays(model.saves_, model.user_keys_.tolist(), erased_through))
    if model.als_ is not None:
        files["als"] = write_part(directory, "als", {"item_factors": model.als_.item_factors_})
    if model.cooccurrence_ is not None:
        cooc = model.cooccurrence_
        extra = {"readers": cooc.readers_} if cooc.readers_ is not None else {}
        if cooc.support_ is not None:  # the same pattern as the similarity: its data array is enough
            extra["support"] = cooc.support_.data.astype(np.int32)
        files["cooccurrence"] = write_part(
            directory, "cooccurrence", {**csr_parts("similarity", cooc.similarity_), **extra}
        )
    if model.cold_start_ is not None:
        files.update(write_cold_start(model.cold_start_, directory))
    return files


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The manifest of one version directory."""
    manifest_path = Path(path) / "manifest.json"
    if not manifest_path.is_file():
        raise ValueError(f"not a model version directory (no manifest.json): {path}")
    with open(manifest_path, encoding="utf-8") as fh:
        return json.load(fh)


def load(path: str | Path) -> HybridRecommender:
    """Load one version directory. Never unpickles. The manifest is available as ``model.manifest_``."""
    path = Path(path)
    manifest = read_manifest(path)
    if manifest.get("format") != FORMAT:
        raise ValueError(f"unsupported model format {manifest.get('format')!r} in {path}")
    files = manifest["files"]
    with np.load(path / files["items"], allow_pickle=False) as z:
        keys = unpack_strings(z["keys"], z["key_offsets"])
        titles = unpack_strings(z["titles"], z["title_offsets"])
    with open(path / files["vocabulary"], encoding="utf-8") as fh:
        vocabulary = json.load(fh)
    arrays = read_part(path, files["text"])
    text = TextModel.from_arrays(vocabulary, arrays["idf"], csr_from(arrays, "vectors"), **manifest["params"]["text"])
    if "terms_data" in arrays:
        text.with_inverted_index(csr_from(arrays, "terms"))
    saves, user_keys, erased_through = read_saves(path / files["saves"])
    als = None
    if "als" in files:
        als = ALSRecommender.from_factors(read_part(path, files["als"])["item_factors"], **manifest["params"]["als"])
    cooccurrence = None
    if "cooccurrence" in files:  # versions written before the co-occurrence component have none
        arrays = read_part(path, files["cooccurrence"])
        cooccurrence = ItemCooccurrence.from_similarity(
            csr_from(arrays, "similarity"),
            arrays.get("readers"),
            arrays.get("support"),
            **manifest["params"]["cooccurrence"],
        )
    model = HybridRecommender.from_parts(
        config=stored_config(manifest["config"]),
        text=text,
        als=als,
        item_keys=keys,
        item_titles=titles,
        saves=saves,
        cooccurrence=cooccurrence,
        user_keys=user_keys,  # None (rows of unknown users): loaded without saves, see from_parts
    )
    cold_start = load_cold_start(path, files, als.item_factors_ if als is not None else None)
    model.with_cold_start(cold_start, shared_dir=path / new_paper_files.DIRECTORY)
    model.candidate_index_ = candidate_index.read(path, manifest, als.item_factors_ if als is not None else None)
    model.manifest_ = manifest
    model.erased_through_ = erased_through
    return model


def current_version(root: str | Path) -> str | None:
    """The current version id, or None when nothing has been published. Cheap: reads one small file."""
    try:
        with open(Path(root) / POINTER, encoding="utf-8") as fh:
            value = fh.read().strip()
    except FileNotFoundError:
        return None
    return value or None


def load_current(root: str | Path) -> HybridRecommender:
    version = current_version(root)
    if version is None:
        raise ValueError(f"no current model under {root}: train and publish one first")
    return load(Path(root) / VERSIONS / version)


def set_current(root: str | Path, version: str) -> None:
    """Point ``current`` at an existing, complete version (atomic replace)."""
    root = Path(root)
    if not (root / VERSIONS / version / "manifest.json").is_file():
        raise ValueError(f"unknown or incomplete model version {version!r} under {root}")
    fd, tmp = tempfile.mkstemp(prefix=_POINTER_TMP_PREFIX, dir=root)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(version + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, root / POINTER)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(root)
    log.info("current model version is now %s", version)


def list_versions(root: str | Path) -> list[str]:
    """Complete versions, oldest first."""
    base = Path(root) / VERSIONS
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if (p / "manifest.json").is_file())


def prune(root: str | Path, keep: int = 5) -> list[str]:
    """Delete all but the newest ``keep`` versions (never the current one) and leftovers of dead writers.

    Returns the removed version ids.
    """
    if keep < 1:
        raise ValueError(f"keep must be >= 1, got {keep!r}")
    root = Path(root)
    current = current_version(root)
    versions = list_versions(root)
    removed = [v for v in versions[: max(0, len(versions) - keep)] if v != current]
    with exclusive_lock(root, ERASURE_LOCK):  # never half-delete a version a purge is rewriting
        for v in removed:
            shutil.rmtree(root / VERSIONS / v, ignore_errors=True)
    if root.is_dir():
        for leftover in root.iterdir():
            # Temp dirs of a writer that is still running are young; only old ones are debris.
            if leftover.name.startswith((_TMP_PREFIX, _POINTER_TMP_PREFIX)) and _age_seconds(leftover) > 3600:
                _remove(leftover)
    return removed


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def exclusive_lock(root: str | Path, name: str = RETRAIN_LOCK, *, wait: bool = True) -> Iterator[None]:
    """Hold the advisory lock file ``<root>/<name>`` (``fcntl.flock``, released when the holder exits, even when
    killed). ``wait=False`` raises :class:`StoreBusy` instead of waiting for another holder.

    The lock is per open file: a process must not take the same lock twice. It works between processes of one
    host (the model directory is not meant to be shared over a network file system)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / name, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise StoreBusy(f"{root / name} is held by another process") from None
        yield
    finally:
        os.close(fd)  # releases the lock


def remove_temporaries(root: str | Path) -> list[str]:
    """Remove the ``.tmp-*`` version directories and ``.current-*`` pointer files of dead writers, whatever their
    age. Only call it while holding ``exclusive_lock(root, RETRAIN_LOCK)``: every writer takes it, so nothing
    found then is still being written. Returns the names removed."""
    root = Path(root)
    if not root.is_dir():
        return []
    stale = sorted(p for p in root.iterdir() if p.name.startswith((_TMP_PREFIX, _POINTER_TMP_PREFIX)))
    for path in stale:
        _remove(path)
    return [p.name for p in stale]


def erased_through(path: str | Path) -> int:
    """The erasure mark of one version directory (0 when none was applied)."""
    path = Path(path)
    saves = read_manifest(path)["files"]["saves"]
    with np.load(path / saves, allow_pickle=False) as z:
        return int(z["erased_through"]) if "erased_through" in z.files else 0


def purge_users(root: str | Path, erasures: Sequence[tuple[int, object]]) -> list[str]:
    """Remove erased users' rows from every version under ``root``.

    ``erasures`` are ``(number, user key)`` pairs, numbered in the order they happened; pass every erasure
    above the lowest :func:`erased_through` of the versions (more is harmless). Each version applies those
    above its own mark, then records the highest number as its new mark, in one atomic rewrite of its
    ``saves.npz``. A version written before rows were attributed to users keeps no rows at all. Runs under
    ``exclusive_lock(root, ERASURE_LOCK)``, so concurrent purges never lose each other's removals. Returns the
    versions rewritten."""
    root = Path(root)
    rewritten = []
    with exclusive_lock(root, ERASURE_LOCK):
        for version in list_versions(root):
            try:
                if _purge_version(root / VERSIONS / version, erasures):
                    rewritten.append(version)
            except FileNotFoundError:  # removed by hand meanwhile: nothing left to purge
                continue
    return rewritten


def _purge_version(directory: Path, erasures: Sequence[tuple[int, object]]) -> bool:
    for leftover in directory.glob(f"{_PURGE_TMP_PREFIX}*"):  # a purge killed mid-write (we hold the lock)
        leftover.unlink(missing_ok=True)
    path = directory / read_manifest(directory)["files"]["saves"]
    saves, users, through = read_saves(path)
    pending = [(int(number), str(user)) for number, user in erasures if int(number) > through]
    if not pending:
        return False
    if users is None:
        saves, users = sp.csr_matrix((0, saves.shape[1]), dtype=np.float32), []
    else:
        keep = ~np.isin(np.asarray(users, dtype=object), np.asarray([u for _, u in pending], dtype=object))
        saves, users = sp.csr_matrix(saves[keep]), [u for u, k in zip(users, keep.tolist(), strict=True) if k]
    fd, tmp = tempfile.mkstemp(prefix=_PURGE_TMP_PREFIX, suffix=".npz", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **saves_arrays(saves, users, max(n for n, _ in pending)))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(directory)
    log.info("removed %d erased user(s) from model version %s", len(pending), directory.name)
    return True


def _age_seconds(path: Path) -> float:
    return datetime.now(UTC).timestamp() - path.stat().st_mtime
