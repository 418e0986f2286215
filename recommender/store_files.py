"""The on-disk form of one model version's parts: packed strings, CSR arrays, the saves file, fsync.

Everything here writes or reads plain numpy ``.npz`` arrays and JSON, never pickle (see :mod:`recommender.store`).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from recommender.coldstart import ColdStartScorer
from recommender.embedding import Embedder, PackagedMiniLM, embedding_available
from recommender.store_arrays import read_part, write_part

log = logging.getLogger(__name__)


def pack_strings(values: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    encoded = [str(v).encode("utf-8") for v in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets


def unpack_strings(blob: np.ndarray, offsets: np.ndarray) -> list[str]:
    raw = blob.tobytes()
    return [raw[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(len(offsets) - 1)]


def fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def csr_parts(prefix: str, matrix: sp.spmatrix) -> dict[str, np.ndarray]:
    m = sp.csr_matrix(matrix)
    index_dtype = np.int32 if max(*m.shape, m.nnz) < 2**31 else np.int64
    return {
        f"{prefix}_data": m.data.astype(np.float32),
        # the index dtype scipy itself picks, so a memory-mapped matrix is used as stored, never copied
        f"{prefix}_indices": m.indices.astype(index_dtype),
        f"{prefix}_indptr": m.indptr.astype(index_dtype),
        f"{prefix}_shape": np.asarray(m.shape, dtype=np.int64),
    }


def csr_from(arrays: Mapping[str, np.ndarray], prefix: str) -> sp.csr_matrix:
    shape = tuple(int(x) for x in arrays[f"{prefix}_shape"])
    return sp.csr_matrix(
        (arrays[f"{prefix}_data"], arrays[f"{prefix}_indices"], arrays[f"{prefix}_indptr"]), shape=shape
    )


def json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in a manifest")


def saves_arrays(saves: sp.spmatrix, user_keys: Sequence[str], erased_through: int) -> dict[str, np.ndarray]:
    # one file for the rows, their users and the erasure mark, so that a purge replaces all three at once
    blob, offsets = pack_strings(user_keys)
    return {
        **csr_parts("saves", saves),
        "user_keys": blob,
        "user_key_offsets": offsets,
        "erased_through": np.asarray(int(erased_through), dtype=np.int64),
    }


def read_saves(path: Path) -> tuple[sp.csr_matrix, list[str] | None, int]:
    """Saves, the user key of each row (None: a version written before rows were attributed) and the mark."""
    with np.load(path, allow_pickle=False) as z:
        arrays = dict(z)
    users = None
    if "user_keys" in arrays:
        users = unpack_strings(arrays["user_keys"], arrays["user_key_offsets"])
    return csr_from(arrays, "saves"), users, int(arrays.get("erased_through", 0))


def write_cold_start(scorer: ColdStartScorer, directory: Path) -> dict[str, str]:
    """The cold-start scorer's parts: per TF-IDF representation its idf and catalog vectors (npz) and vocabulary
    (JSON), the embedding's catalog vectors; the ALS item factors it maps into are the model's own."""
    files = {"cold_start_spaces": "cold_start.json"}
    arrays: dict[str, np.ndarray] = {}
    vocabularies = {}
    for rep, vectors in scorer.item_vectors_.items():
        if rep == "embedding":
            arrays["embedding_vectors"] = np.asarray(vectors, dtype=np.float32)
            continue
        arrays.update(csr_parts(f"{rep}_vectors", vectors))
        arrays[f"{rep}_idf"] = np.asarray(scorer.vectorizers_[rep].idf_, dtype=np.float64)
        vocabularies[rep] = {str(k): int(v) for k, v in scorer.vectorizers_[rep].vocabulary_.items()}
    files["cold_start"] = write_part(directory, "cold_start", arrays)
    spaces = {
        "components": [list(c) for c in scorer.components_],
        "neighbours": int(scorer.neighbours),
        "min_df": int(scorer.min_df),
        "vocabularies": vocabularies,
    }
    with open(directory / files["cold_start_spaces"], "w", encoding="utf-8") as fh:
        json.dump(spaces, fh, ensure_ascii=False)
    return files


def read_cold_start(
    directory: Path, files: Mapping[str, str], item_factors: np.ndarray | None, embedder: Embedder | None
) -> ColdStartScorer:
    """The scorer :func:`write_cold_start` wrote; ValueError when its parts do not fit (e.g. an embedding
    component without ``embedder``)."""
    with open(directory / files["cold_start_spaces"], encoding="utf-8") as fh:
        spaces = json.load(fh)
    arrays = read_part(directory, files["cold_start"])
    reps = {str(c[1]) for c in spaces["components"]}
    if "embedding" in reps and embedder is None:
        raise ValueError("an embedding component needs the embedding (install the 'embed' extra)")
    vectors: dict[str, np.ndarray | sp.csr_matrix] = {
        rep: arrays["embedding_vectors"] if rep == "embedding" else csr_from(arrays, f"{rep}_vectors") for rep in reps
    }
    return ColdStartScorer.from_arrays(
        components=spaces["components"],
        neighbours=int(spaces["neighbours"]),
        min_df=int(spaces["min_df"]),
        vocabularies=spaces["vocabularies"],
        idf={rep: arrays[f"{rep}_idf"] for rep in reps - {"embedding"}},
        item_vectors=vectors,
        item_factors=item_factors,
        embedder=embedder,
    )


def load_cold_start(
    directory: Path, files: Mapping[str, str], item_factors: np.ndarray | None
) -> ColdStartScorer | None:
    """A stored version's cold-start scorer; None for versions without one (older ones rank new papers by text,
    as they always did), without ALS, or whose embedding component cannot run here (no ``embed`` extra)."""
    if "cold_start" not in files or item_factors is None:
        return None
    embedder = PackagedMiniLM() if embedding_available() else None
    try:
        return read_cold_start(directory, files, item_factors, embedder)
    except ValueError as exc:
        log.warning("model version %s: cold-start scorer not used (%s)", directory.name, exc)
        return None
