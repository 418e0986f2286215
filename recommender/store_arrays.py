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

from collections.abc import Mapping
from pathlib import Path

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
