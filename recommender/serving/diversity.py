"""Diversity of a list: one entry per paper title (the same paper under several sites' keys) and maximal
marginal relevance (MMR) over text similarity."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import scipy.sparse as sp

# Titles shorter than this many words ("Editorial", "Introduction") may name different papers.
MIN_TITLE_WORDS = 4


@functools.lru_cache(maxsize=200_000)
def title_key(title: str) -> str:
    """A paper's title reduced to its words, for telling the same paper apart under two sites' keys ("" for
    titles too short to tell)."""
    words = re.findall(r"\w+", unicodedata.normalize("NFKC", str(title)).casefold())
    return " ".join(words) if len(words) >= MIN_TITLE_WORDS else ""


def title_keys(keys: Sequence[str], title_of: Callable[[str], str]) -> dict[str, frozenset[str]]:
    """:func:`title_key` of each paper (its title by ``title_of``) -> the keys that have it."""
    out: dict[str, set[str]] = {}
    for k in keys:
        t = title_key(title_of(k))
        if t:
            out.setdefault(t, set()).add(str(k))
    return {t: frozenset(ks) for t, ks in out.items()}


def distinct_titles(
    keys: np.ndarray,
    titles: Sequence[str],
    score: np.ndarray,
    seen: Mapping[str, frozenset[str]],
    limit: int,
) -> np.ndarray:
    """Keep-mask over candidates: the same paper often exists under several sites' keys (arXiv,
    OpenReview, Semantic Scholar). Drop candidates whose title is one of the user's own papers under another
    key (the key itself follows the usual rules), and all but the best-scored of candidates sharing a
    title. Only the best ``limit`` kept candidates are looked at; the rest are marked dropped."""
    keep = np.zeros(len(keys), dtype=bool)
    best: set[str] = set()
    kept = 0
    for j in np.argsort(-score, kind="stable").tolist():
        if kept >= limit:
            break
        t = title_key(titles[j])
        if t and ((t in seen and str(keys[j]) not in seen[t]) or t in best):
            continue
        best.add(t)
        keep[j] = True
        kept += 1
    return keep


def mmr_pool_size(n: int) -> int:
    """How many of the best-scored candidates MMR picks ``n`` from."""
    return max(3 * n, n + 50)


def mmr(score: np.ndarray, vectors: sp.csr_matrix, n: int, lam: float) -> list[int]:
    """Greedy maximal marginal relevance over the best-scored pool, text cosine as redundancy."""
    pool = np.argsort(-score, kind="stable")[: mmr_pool_size(n)]
    if lam >= 1.0 or len(pool) <= 1:
        return pool[:n].tolist()
    sims = np.asarray((vectors[pool] @ vectors[pool].T).todense())
    rel = score[pool]
    max_sim = np.zeros(len(pool))
    chosen = np.zeros(len(pool), dtype=bool)
    picked = []
    for _ in range(min(n, len(pool))):
        value = np.where(chosen, -np.inf, lam * rel - (1.0 - lam) * max_sim)
        j = int(np.argmax(value))
        chosen[j] = True
        picked.append(int(pool[j]))
        max_sim = np.maximum(max_sim, sims[j])
    return picked
