"""Turn a freshly saved model version into the layout older versions have on disk: every part in one ``.npz``
(as written before the memory-mapped ``.npy`` parts) and no candidate index."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from recommender.store_arrays import read_part


def to_npz_layout(directory: Path) -> dict:
    """Rewrite the version in ``directory`` in place; returns its new manifest."""
    manifest = json.loads((directory / "manifest.json").read_text())
    for part, entry in list(manifest["files"].items()):
        if not entry.endswith(".*.npy"):
            continue
        arrays = {name: np.array(value) for name, value in read_part(directory, entry).items()}
        for path in directory.glob(entry):
            path.unlink()
        np.savez(directory / f"{part}.npz", **arrays)
        manifest["files"][part] = f"{part}.npz"
    for name in manifest.pop("candidate_index", {}).values():
        (directory / name).unlink()
    (directory / "manifest.json").write_text(json.dumps(manifest))
    return manifest
