"""What a retrain reads in bulk (its stages are timed with :class:`recommender.timing.StageClock`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class InteractionColumns:
    """An interaction log as parallel arrays, as a database reader fills them chunk by chunk.

    ``users``: user ids (integers); ``items``: rows of the catalog passed to ``train`` (-1 for a paper not in it);
    ``types``: event types (strings); ``times``: epoch seconds (float64)."""

    users: np.ndarray
    items: np.ndarray
    types: np.ndarray
    times: np.ndarray

    def __len__(self) -> int:
        return len(self.users)

    @classmethod
    def concatenate(cls, chunks: list[InteractionColumns]) -> InteractionColumns:
        """One set of columns from ``chunks`` (in order); empty columns for no chunk."""
        if not chunks:
            return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, "U1"), np.zeros(0, np.float64))
        return cls(
            np.concatenate([c.users for c in chunks]),
            np.concatenate([c.items for c in chunks]),
            np.concatenate([c.types for c in chunks]),
            np.concatenate([c.times for c in chunks]),
        )
