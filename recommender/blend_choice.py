"""The blend chosen when a model is fitted, from the catalog's own interactions (config ``blend_choice``).

Blend weights fitted to one dataset did not carry over to another of the same kind (docs/evaluation.md): there
the tuned hybrid lost to its own ALS component. So the weights are chosen per catalog, by a rule meant to hold
rather than to fit: carve validation views out of the interactions being fitted, fit the collaborative parts
once on what is left (the text model depends on the papers only and is reused), score each component once for
a sample of users, and take from a small grid the blend whose WORST relative margin over the best single
component, over every cutoff and every view, is largest (ties: the best mean recall). Views:

- ``tail30``: for half of the sampled users, the 30 % least read of their papers held out, the rest the input;
- ``tail70``: for the other half, the 70 % least read held out, the 30 % most read the input;
- ``tail30_one`` / ``tail70_one``: the same held-out papers, one random kept paper as the input.

The least read papers are held out, not random ones: the published splits leave the long tail to the test,
and a random holdout rewards popularity and CF by dot product far more than they do (docs/tuning.md; a random
view was tried here too and pulled the choice towards the dot product, which lost on the test).

The long-history blend is chosen on the first two, the one-paper blend on the last two. With fewer than
:data:`MIN_USERS` users who have enough papers to carve from (a new install, or a catalog whose users each
saved one paper) the configured blends stay as written.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from recommender.blend_pool import pool_chunk
from recommender.config import Blend, BlendOptions, BlendWeights, CandidatesConfig, Config
from recommender.interactions import InteractionData
from recommender.offline.metrics import recall_sums
from recommender.serving.blend import scale, weighted_sum

if TYPE_CHECKING:
    from recommender.models import TextModel
    from recommender.serving.types import PaperDoc

KS = (20, 50, 100, 300)
MIN_USERS = 100
HOLDOUT_FRACTION = 0.3
CHUNK = 256
# at most this many (row, item) cells per chunk: each component and blend is a dense chunk, so at a million papers
# 256 rows would hold about ten arrays of 1 GB at once; fewer rows per chunk give the same sums
CHUNK_CELLS = 2**26
# The knobs, few and coarse on purpose: the text share of the non-trend weight, the co-occurrence share of the
# collaborative weight, CF by dot product or cosine, and a popularity discount or none. The trend weight is not
# chosen: offline the trend component is training popularity, online the real trending signal, so it stays as
# configured.
TEXT_SHARES = (0.1, 0.2, 0.35, 0.5)
COOCCURRENCE_SHARES = (0.0, 0.3)
CF_ITEM_NORMS = (0.0, 1.0)
POPULARITY_DISCOUNTS = (0.0, 0.1)
# the components a blend must beat, CF both ways it can be scored
BASELINES = ("cf", "cf_cosine", "cooccurrence", "text")


def blend_grid(trend: float) -> list[dict[str, float]]:
    """Every blend of the knobs above, with ``trend`` as the trend weight."""
    rest = 1.0 - trend
    return [
        {
            "cf": round(rest * (1 - t) * (1 - s), 4),
            "cooccurrence": round(rest * (1 - t) * s, 4),
            "text": round(rest * t, 4),
            "trend": trend,
            "cf_item_norm": norm,
            "popularity_discount": beta,
        }
        for t in TEXT_SHARES
        for s in COOCCURRENCE_SHARES
        for norm in CF_ITEM_NORMS
        for beta in POPULARITY_DISCOUNTS
    ]


# ---------------------------------------------------------------------------------------------- the views
@dataclasses.dataclass
class View:
    inputs: sp.csr_matrix  # sampled users x items, the confidences of their input papers
    held: sp.csr_matrix  # sampled users x items, their held-out papers


def carve(matrix: sp.csr_matrix, *, max_users: int, min_input: int, seed: int) -> tuple[sp.csr_matrix, dict[str, View]]:
    """The matrix to fit on (the held-out pairs removed) and the four views, over at most ``max_users`` users
    with more than ``min_input`` papers. Only ``matrix`` is read."""
    matrix = sp.csr_matrix(matrix)
    counts = np.diff(matrix.indptr)
    eligible = np.flatnonzero(counts > min_input)
    rng = np.random.default_rng(seed)
    users = np.sort(rng.choice(eligible, min(max_users, len(eligible)), replace=False))
    readers = np.diff(sp.csc_matrix(matrix).indptr)
    drop = sp.lil_matrix(matrix.shape, dtype=bool)
    parts: dict[str, list[tuple[int, np.ndarray, np.ndarray]]] = {"tail30": [], "tail70": []}
    for j, u in enumerate(users):
        items = matrix.indices[matrix.indptr[u] : matrix.indptr[u + 1]]
        n = len(items)
        share = HOLDOUT_FRACTION if j % 2 == 0 else 1.0 - HOLDOUT_FRACTION
        held = int(np.clip(round(n * share), 1, n - min_input))
        order = np.lexsort((rng.random(n), readers[items]))  # least read first, ties at random
        out = np.sort(items[order[:held]])
        drop[u, out] = True
        parts["tail30" if j % 2 == 0 else "tail70"].append((int(u), np.setdiff1d(items, out), out))
    fit = sp.csr_matrix(matrix - matrix.multiply(drop.tocsr()))
    fit.eliminate_zeros()
    views = {}
    for kind, rows in parts.items():
        views[kind] = _view(matrix, rows, one=None)
        views[f"{kind}_one"] = _view(matrix, rows, one=rng)
    return fit, views


def _view(matrix: sp.csr_matrix, rows: Sequence[Any], one: np.random.Generator | None) -> View:
    n_items = matrix.shape[1]
    inp, held = sp.lil_matrix((len(rows), n_items), dtype=np.float32), sp.lil_matrix((len(rows), n_items))
    for r, (u, keep, out) in enumerate(rows):
        if one is not None:
            keep = keep[int(one.integers(len(keep))) :][:1]
        inp[r, keep] = np.asarray(matrix[u, keep].todense()).ravel()
        held[r, out] = 1.0
    return View(sp.csr_matrix(inp), sp.csr_matrix(held))


# ---------------------------------------------------------------------------------------------- scoring
def _recalls(
    scores: np.ndarray, inputs: sp.csr_matrix, held: sp.csr_matrix, n_relevant: np.ndarray | None
) -> np.ndarray:
    """Sum over the rows of Recall@K for each K of :data:`KS` (``scores`` is changed)."""
    return recall_sums(scores, inputs, held, KS, n_relevant=n_relevant)


def grid_recalls(
    raw: Mapping[str, np.ndarray],
    inputs: sp.csr_matrix,
    held: sp.csr_matrix,
    grid: Sequence[Mapping[str, float]],
    *,
    cosine_weights: np.ndarray | None = None,
    discounts: Mapping[float, np.ndarray] | None = None,
    n_relevant: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Summed Recall@K (:data:`KS`) over the rows of one chunk: one row per blend of ``grid``, and each
    baseline's. ``raw`` holds each component's raw scores (``cf`` by the ALS dot product); ``cosine_weights``
    turns CF into the cosine (per item, ``1 / ||factor||``), ``discounts`` maps each β of the grid to the items'
    ``(1 + readers) ** -β`` (per item, or rows x items; without it there is no discount); ``n_relevant``: see
    :func:`~recommender.offline.metrics.recall_sums`. A blend is scored exactly as
    :func:`~recommender.serving.blend.blend` scores it (both add up through
    :func:`~recommender.serving.blend.weighted_sum`)."""
    raw = dict(raw)
    if cosine_weights is not None and "cf" in raw:
        raw["cf_cosine"] = raw["cf"] * cosine_weights[None, :]
    exclude = inputs.nonzero()
    scaled = {c: scale(v, exclude=exclude, dtype=np.float32) for c, v in raw.items()}
    base = {c: _recalls(np.array(raw[c], dtype=np.float32), inputs, held, n_relevant) for c in BASELINES if c in raw}
    out = np.zeros((len(grid), len(KS)))
    for g, b in enumerate(grid):
        cf = "cf_cosine" if b["cf_item_norm"] and "cf_cosine" in scaled else "cf"
        parts = {"cf": cf, "cooccurrence": "cooccurrence", "text": "text", "trend": "trend"}
        used = {c: scaled[name] for c, name in parts.items() if name in scaled and b[c] > 0}
        score = weighted_sum(used, b, inputs.shape)
        if b["popularity_discount"] and discounts:
            discount = discounts[b["popularity_discount"]]
            score *= discount if discount.ndim == 2 else discount[None, :]
        out[g] = _recalls(score, inputs, held, n_relevant)
    return out, base


def pick(blends: np.ndarray, bases: np.ndarray, grid: Sequence[Mapping[str, float]]) -> tuple[int, float]:
    """The index of the blend to use and its worst margin. ``blends``: views x blends x cutoffs of mean recall,
    ``bases``: views x baselines x cutoffs. The margin of a blend at one view and cutoff is its recall over
    the best baseline's there, relative to it; the blend with the largest worst margin wins, ties (within
    1e-9) go to the best mean recall."""
    best = bases.max(axis=1)[:, None, :]  # views x 1 x cutoffs
    margin = ((blends - best) / np.maximum(best, 1e-9)).min(axis=(0, 2))
    mean = blends.mean(axis=(0, 2))
    order = sorted(range(len(grid)), key=lambda g: (-round(float(margin[g]), 9), -float(mean[g])))
    return order[0], float(margin[order[0]])


# ---------------------------------------------------------------------------------------------- the choice
def carve_min_input(cfg: Config) -> int:
    """Papers a user must have more than to be carved from (the long-history blend needs that many as input)."""
    return max(2, cfg.blend_long_history.min_items)


def choose_blends(
    papers: Sequence[PaperDoc], data: InteractionData, text_model: TextModel, cfg: Config
) -> tuple[Config, dict[str, Any]]:
    """``cfg`` with ``blend`` and ``blend_long_history`` chosen on views carved from ``data`` (module docstring),
    and the record of the choice (weights, worst margins, each view's recalls; JSON)."""
    t0 = time.perf_counter()
    fit_m, views = carve(
        data.matrix,
        max_users=cfg.blend_choice.max_users,
        min_input=carve_min_input(cfg),
        seed=cfg.blend_choice.random_state,
    )
    refused = too_few_users(views, cfg)
    if refused is not None:
        return cfg, refused
    model = _carved_model(papers, data, fit_m, text_model, cfg)
    fitted = time.perf_counter()
    cfg, record = choose_on(model, views, fit_m, cfg)
    record["fit_seconds"] = round(fitted - t0, 1)
    record["seconds"] = round(time.perf_counter() - t0, 1)
    return cfg, record


def too_few_users(views: Mapping[str, View], cfg: Config) -> dict[str, Any] | None:
    """The record of a choice not made (too few users to carve views from), or None when there are enough."""
    n_users = views["tail30"].inputs.shape[0] + views["tail70"].inputs.shape[0]
    if n_users >= MIN_USERS:
        return None
    why = f"{n_users} users with more than {carve_min_input(cfg)} papers, {MIN_USERS} needed: blends as configured"
    return {"chosen": False, "reason": why, "users": int(n_users)}


def choose_on(
    model: Any, views: Mapping[str, View], fit_m: sp.csr_matrix, cfg: Config
) -> tuple[Config, dict[str, Any]]:
    """The choice of :func:`choose_blends` made with ``model``, already fitted on ``fit_m`` (which holds none of
    the views' held-out pairs): the training pipeline passes its holdout model here, so one fit serves both."""
    t0 = time.perf_counter()
    long = cfg.blend_long_history
    groups = {"blend_long_history": ("tail30", "tail70"), "blend": ("tail30_one", "tail70_one")}
    if long.min_items == 0:  # one blend for every history
        groups = {"blend": ("tail30", "tail70", "tail30_one", "tail70_one")}
    n_users = views["tail30"].inputs.shape[0] + views["tail70"].inputs.shape[0]
    # from the size on where requests find their ALS candidates in an index, the grid ranks what a request
    # ranks (recommender/blend_pool.py); below it, the whole catalog costs little. The configured size: the
    # holdout model that may be passed here builds no index
    pool = cfg.candidates if model.n_items >= int(cfg.candidates.ann_min_items) else None
    record: dict[str, Any] = {"chosen": True, "users": int(n_users), "among_candidates": pool is not None}
    sections = {}
    for section, names in groups.items():
        current = getattr(cfg, section)
        grid = blend_grid(float(current.weights.trend))
        scored = [_score_view(model, views[v], fit_m, grid, pool) for v in names]
        g, margin = pick(
            np.stack([b for b, _ in scored]), np.stack([np.stack(list(c.values())) for _, c in scored]), grid
        )
        chosen = grid[g]
        sections[section] = Blend(
            weights=BlendWeights(**{c: chosen[c] for c in ("cf", "cooccurrence", "text", "trend")}),
            options=BlendOptions(
                cf_item_norm=chosen["cf_item_norm"], popularity_discount=chosen["popularity_discount"]
            ),
            min_items=current.min_items,
        )
        record[section] = {
            "weights": dict(chosen),
            "worst_margin": round(margin, 4),
            "beats_components": bool(margin > 0),
            "views": {
                v: {"blend": _rounded(b[g]), **{c: _rounded(r) for c, r in comps.items()}}
                for v, (b, comps) in zip(names, scored, strict=True)
            },
        }
    record["grid_size"] = len(blend_grid(0.1))
    record["fit_seconds"] = 0.0  # the model was fitted by the caller
    record["seconds"] = round(time.perf_counter() - t0, 1)
    return dataclasses.replace(cfg, **sections), record


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), 4) for v in values]


def _carved_model(
    papers: Sequence[PaperDoc], data: InteractionData, fit_m: sp.csr_matrix, text_model: TextModel, cfg: Config
) -> Any:
    """The model fitted on the carved matrix: same config, no blend choice of its own, no cold-start scorer."""
    from recommender.serving.hybrid import HybridRecommender  # it calls this module from its fit

    keep = fit_m.copy()
    keep.data[:] = 1.0
    carved = dataclasses.replace(
        data, matrix=fit_m, saved=sp.csr_matrix(data.saved.multiply(keep)), n_rows_in=0, n_rows_unknown_item=0
    )
    probe = dataclasses.replace(
        cfg,
        blend_choice=dataclasses.replace(cfg.blend_choice, enabled=False),
        cold_start=dataclasses.replace(cfg.cold_start, enabled=False),
    )
    return HybridRecommender(config=probe).fit(papers, carved, text_model=text_model)


def _score_view(
    model: Any,
    view: View,
    fit_m: sp.csr_matrix,
    grid: Sequence[Mapping[str, float]],
    pool: CandidatesConfig | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Mean Recall@K per blend of ``grid`` (blends x cutoffs) and per baseline on ``view``, chunk by chunk,
    over the whole catalog or, with ``pool``, over each row's candidates of those sizes."""
    trending = np.asarray(fit_m.sum(axis=0), dtype=np.float64).ravel()
    cosine = model.als_.item_norm_weights(1.0) if model.als_ is not None else None
    betas = {float(b["popularity_discount"]) for b in grid} - {0.0}
    everything = np.arange(model.n_items)
    discounts = (
        {b: model.cooccurrence_.popularity_weights(everything, b) for b in betas}
        if model.cooccurrence_ is not None
        else None
    )
    n = view.inputs.shape[0]
    blends, bases = np.zeros((len(grid), len(KS))), {c: np.zeros(len(KS)) for c in BASELINES}
    chunk = max(1, min(CHUNK, CHUNK_CELLS // max(model.n_items, 1)))
    for start in range(0, n, chunk):
        rows = view.inputs[start : start + chunk]
        raw = model.component_scores(rows, trending=trending, cf_item_norm=0.0)
        b, base = _chunk_recalls(raw, rows, view.held[start : start + chunk], grid, cosine, discounts, pool)
        blends += b
        for c, v in base.items():
            bases[c] += v
    return blends / max(n, 1), {c: v / max(n, 1) for c, v in bases.items()}


def _chunk_recalls(
    raw: dict[str, np.ndarray],
    inputs: sp.csr_matrix,
    held: sp.csr_matrix,
    grid: Sequence[Mapping[str, float]],
    cosine: np.ndarray | None,
    discounts: Mapping[float, np.ndarray] | None,
    pool: CandidatesConfig | None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """:func:`grid_recalls` of one chunk over the whole catalog, or (``pool``) over each row's candidates."""
    if pool is None:
        return grid_recalls(raw, inputs, held, grid, cosine_weights=cosine, discounts=discounts)
    if cosine is not None and "cf" in raw:
        raw["cf_cosine"] = raw["cf"] * cosine[None, :]
    pooled = pool_chunk(raw, inputs, held, pool)
    return grid_recalls(
        pooled.raw,
        pooled.padding,
        pooled.held,
        grid,
        discounts={beta: d[pooled.items] for beta, d in (discounts or {}).items()},
        n_relevant=pooled.n_relevant,
    )
