"""A model part's arrays on disk: one plain ``.npy`` file each, opened memory-mapped.

Every gunicorn worker loads the model; with ``np.load(mmap_mode="r")`` the workers of a host map the same
files and share one copy in the page cache instead of each holding its own (the ``.npz`` of older versions
had to be decompressed into every worker). Files are never changed in place: a version is written into a
temporary directory renamed into place, and removing an old version only unlinks its files, so a worker
still mapping them keeps reading the old data until it drops the model.

A part is listed in the manifest's ``files`` as ``<part>.*.npy`` (new layout) or ``<part>.npz`` (versions
written before it); :func:`read_part` reads either.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

SUFFIX = ".npy"


def write_part(directory: Path, part: str, arrays: Mapping[str, np.ndarray]) -> str:
    """Write each of ``arrays`` as ``<part>.<name>.npy`` in ``directory``; returns the manifest entry."""
    for name, value in arrays.items():
        if "." in name or "/" in name:
            raise ValueError(f"invalid array name {name!r}")
        np.save(directory / f"{part}.{name}{SUFFIX}", np.ascontiguousarray(value), allow_pickle=False)
    return f"{part}.*{SUFFIX}"


def read_part(directory: Path, entry: str) -> dict[str, np.ndarray]:
    """The arrays of a part whose manifest entry is ``entry``: memory-mapped ``.npy`` files, or the arrays of
    an ``.npz`` (read into memory; older versions). Never unpickles."""
    if entry.endswith(".npz"):
        with np.load(directory / entry, allow_pickle=False) as z:
            return dict(z)
    if not entry.endswith(f".*{SUFFIX}") or "/" in entry:
        raise ValueError(f"unknown model part entry {entry!r}")
    prefix = entry[: -len(f"*{SUFFIX}")]
    out = {}
    for path in sorted(directory.glob(entry)):
        out[path.name[len(prefix) : -len(SUFFIX)]] = _mapped(path)
    if not out:
        raise ValueError(f"model part {entry!r} has no arrays in {directory}")
    return out


def _mapped(path: Path) -> np.ndarray:
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError:  # an empty array: no data to map
        return np.load(path, allow_pickle=False)


def to_npz_layout(directory: Path) -> dict[str, Any]:
    """Rewrite the version in ``directory`` in place in the layout versions had before this module: every part
    in one ``.npz``, no candidate index (for benchmarks against that layout and tests of backward
    compatibility; never on a version being served). Returns the new manifest."""
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    for part, entry in list(manifest["files"].items()):
        if not entry.endswith(f".*{SUFFIX}"):
            continue
        arrays = {name: np.array(value) for name, value in read_part(directory, entry).items()}
        for path in directory.glob(entry):
            path.unlink()
        np.savez(directory / f"{part}.npz", **arrays)
        manifest["files"][part] = f"{part}.npz"
    for name in manifest.pop("candidate_index", {}).values():
        (directory / name).unlink()
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    return manifest
