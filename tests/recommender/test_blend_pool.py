"""The blend choice's grid over each row's candidates (recommender/blend_pool.py) against a plain reference."""

import dataclasses

import numpy as np
import scipy.sparse as sp

from recommender import blend_choice
from recommender.blend_pool import POSITIVE_ONLY, pool_chunk
from recommender.config import default_config, parse_config
from recommender.serving.blend import scale

N_ROWS, N_ITEMS = 40, 600
SIZES = parse_config(default_config()).candidates


def _chunk(seed=0):
    rng = np.random.default_rng(seed)
    inputs, held = sp.lil_matrix((N_ROWS, N_ITEMS), dtype=np.float32), sp.lil_matrix((N_ROWS, N_ITEMS))
    for r in range(N_ROWS):
        items = rng.choice(N_ITEMS, 12, replace=False)
        inputs[r, items[:4]] = 1.0
        held[r, items[4:]] = 1.0
    raw = {c: rng.random((N_ROWS, N_ITEMS)).astype(np.float32) for c in ("cf", "cooccurrence", "text")}
    raw["cf"][:, :20] = np.nan  # unusable scores are never candidates
    raw["cooccurrence"][rng.random((N_ROWS, N_ITEMS)) < 0.9] = 0.0  # few papers co-occur: only those count
    raw["text"][:, 30:40] = 0.0
    raw["cf_cosine"] = raw["cf"] * rng.random(N_ITEMS).astype(np.float32)[None, :]
    # distinct values: which of tied papers makes a cut is arbitrary, in the pool as in a request
    raw["trend"] = np.broadcast_to(rng.permutation(N_ITEMS).astype(np.float32), (N_ROWS, N_ITEMS))
    return raw, sp.csr_matrix(inputs), sp.csr_matrix(held)


def _reference(raw, inputs, held, sizes, blend):
    """Recall@K summed over rows, ranking each row's candidates one by one (ties: the lower paper index)."""
    sources = {"cf": sizes.als, "cf_cosine": sizes.als, "cooccurrence": sizes.cooccurrence, "text": sizes.text}
    sources["trend"] = sizes.trending
    out = np.zeros(len(blend_choice.KS))
    for r in range(N_ROWS):
        own = set(inputs[r].indices.tolist())
        pool = set()
        for c, n in sources.items():
            values = np.nan_to_num(raw[c][r], nan=-np.inf)
            if c in POSITIVE_ONLY:
                values = np.where(values > 0, values, -np.inf)
            ranked = [i for i in np.argsort(-values, kind="stable") if i not in own and np.isfinite(values[i])]
            pool.update(ranked[:n])
        pool = np.array(sorted(pool))
        cf = "cf_cosine" if blend["cf_item_norm"] else "cf"
        parts = {"cf": cf, "cooccurrence": "cooccurrence", "text": "text", "trend": "trend"}
        used = {c: name for c, name in parts.items() if blend[c] > 0}
        total = sum(blend[c] for c in used)
        score = sum(blend[c] / total * scale(raw[name][r, pool][None, :])[0] for c, name in used.items())
        order = pool[np.argsort(-score, kind="stable")]
        relevant = set(held[r].indices.tolist())
        out += [len(relevant & set(order[:k].tolist())) / len(relevant) for k in blend_choice.KS]
    return out


def test_the_pooled_grid_ranks_each_row_among_its_candidates():
    raw, inputs, held = _chunk()
    sizes = dataclasses.replace(SIZES, als=30, cooccurrence=25, text=40, trending=20)
    pool = pool_chunk(raw, inputs, held, sizes)
    assert pool.raw["text"].shape[1] < N_ITEMS and pool.held.nnz < held.nnz  # some held papers are missed
    grid = [b for b in blend_choice.blend_grid(0.1) if not b["popularity_discount"]]
    blends, _ = blend_choice.grid_recalls(pool.raw, pool.padding, pool.held, grid, n_relevant=pool.n_relevant)
    for g, b in enumerate(grid):
        np.testing.assert_allclose(blends[g], _reference(raw, inputs, held, sizes, b), atol=1e-6)


def test_a_pool_as_wide_as_the_catalog_ranks_as_the_catalog_wide_grid():
    raw, inputs, held = _chunk(1)
    sizes = dataclasses.replace(SIZES, als=N_ITEMS, cooccurrence=N_ITEMS, text=N_ITEMS, trending=N_ITEMS)
    pool = pool_chunk(raw, inputs, held, sizes)
    assert pool.held.nnz == held.nnz and pool.padding.nnz == 0
    discount = np.linspace(1.0, 0.2, N_ITEMS)
    grid = blend_choice.blend_grid(0.1)
    everywhere = dict(raw)
    del everywhere["cf_cosine"]
    cosine = raw["cf_cosine"][0] / np.where(np.isnan(raw["cf"][0]), 1.0, raw["cf"][0])
    wide, wide_base = blend_choice.grid_recalls(
        {c: v.copy() for c, v in everywhere.items()},
        inputs,
        held,
        grid,
        cosine_weights=cosine,
        discounts={0.1: discount},
    )
    pooled, pooled_base = blend_choice.grid_recalls(
        pool.raw, pool.padding, pool.held, grid, discounts={0.1: discount[pool.items]}, n_relevant=pool.n_relevant
    )
    np.testing.assert_allclose(pooled, wide, atol=1e-6)
    for c, v in wide_base.items():
        np.testing.assert_allclose(pooled_base[c], v, atol=1e-6)
