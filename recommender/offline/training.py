"""End-to-end training: interaction rows + catalog -> evaluated, fitted :class:`HybridRecommender`.

Used by the server's retrain; ranks held-out users through the model's public ``user_state_for_row`` and
``rank``."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import scipy.sparse as sp
from tqdm.auto import tqdm

from recommender import blend_choice
from recommender.config import Config, parse_config
from recommender.interactions import InteractionData, build_matrix, now_seconds
from recommender.models.collaborative import ALSRecommender
from recommender.models.content import TextModel
from recommender.offline.metrics import mean_metrics
from recommender.offline.stages import InteractionColumns
from recommender.serving import HybridRecommender, PaperDoc
from recommender.timing import StageClock

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    model: HybridRecommender
    metrics: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # per stage (recommender.offline.stages)


def holdout_split(
    matrix: sp.csr_matrix, fraction: float, *, random_state: int | None = 0
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Hold out ``fraction`` (at least one) of the positive items of every user with >= 2 of them.

    Returns (train, test) with the same shape; vectorised over all entries.
    """
    if not 0 < fraction < 1:
        raise ValueError(f"holdout fraction must be in (0, 1), got {fraction!r}")
    m = sp.csr_matrix(matrix)
    m.sort_indices()
    rng = np.random.default_rng(random_state)
    lengths = np.diff(m.indptr)
    rows = np.repeat(np.arange(m.shape[0]), lengths)
    order = np.lexsort((rng.random(m.nnz), rows))
    position = np.empty(m.nnz, dtype=np.int64)
    position[order] = np.arange(m.nnz) - np.repeat(m.indptr[:-1], lengths)
    n_test = np.where(lengths >= 2, np.maximum(1, np.floor(lengths * fraction)).astype(np.int64), 0)
    is_test = position < n_test[rows]
    coo = m.tocoo()
    train = sp.csr_matrix((coo.data[~is_test], (coo.row[~is_test], coo.col[~is_test])), shape=m.shape)
    test = sp.csr_matrix((coo.data[is_test], (coo.row[is_test], coo.col[is_test])), shape=m.shape)
    return train, test


def evaluate_holdout(
    model: HybridRecommender,
    train: InteractionData,
    test: sp.csr_matrix,
    *,
    k: int = 20,
    max_users: int | None = 2000,
    random_state: int | None = 0,
) -> dict[str, Any]:
    """Recall@k / NDCG@k of the hybrid and of a popularity-only (trending) baseline on held-out items.

    The trend signal offline is item popularity in the training matrix (the decayed confidences summed per
    item), used both as the baseline and as the hybrid's trend component.
    """
    users = np.flatnonzero(np.diff(test.indptr) > 0)
    if max_users is not None and len(users) > max_users:
        users = np.sort(np.random.default_rng(random_state).choice(users, max_users, replace=False))
    popularity = np.asarray(train.matrix.sum(axis=0)).ravel()
    n_trend = int(model.config_.candidates.trending)
    top_pop = np.argsort(-popularity, kind="stable")[: n_trend + 1000]
    top_pop = top_pop[popularity[top_pop] > 0]
    keys = model.item_ids_.keys
    trending = {str(keys[i]): float(popularity[i]) for i in top_pop[:n_trend]}
    hybrid_runs, baseline_runs = [], []
    mtx, saved = train.matrix, train.saved
    for u in users:
        items = mtx.indices[mtx.indptr[u] : mtx.indptr[u + 1]]
        conf = mtx.data[mtx.indptr[u] : mtx.indptr[u + 1]]
        relevant = set(test.indices[test.indptr[u] : test.indptr[u + 1]].tolist())
        state = model.user_state_for_row(items, conf, saved.indices[saved.indptr[u] : saved.indptr[u + 1]])
        recs = model.rank(state, n=k, trending=trending, window_label="", with_reasons=False)
        hybrid_runs.append((model.item_ids_.lookup([r.key for r in recs]).tolist(), relevant))
        seen = set(items.tolist())
        baseline_runs.append(([int(i) for i in top_pop if int(i) not in seen][:k], relevant))
    return {
        "k": k,
        "hybrid": mean_metrics(hybrid_runs, k),
        "trending": mean_metrics(baseline_runs, k),
    }


# The final ALS continues the holdout model's (fitted on all but the held-out entries) for this many iterations on
# every entry, instead of a second fit from scratch: ALS is near its fixed point by then, so a few iterations take
# in the held-out entries (docs/performance.md "Retrain").
REFIT_ITERATIONS = 3
# a catalog size no catalog reaches: no candidate index (candidates.ann_min_items)
NO_INDEX = 2**62


def train(
    papers: Sequence[PaperDoc],
    interactions: Iterable[tuple[Any, str, str, datetime]] | InteractionColumns,
    *,
    config: Config | Mapping[str, Any] | None = None,
    now: datetime | None = None,
    progress: bool = False,
) -> TrainResult:
    """Fit text and ALS on the catalog and interaction log, evaluate on a holdout, finish the fit on everything.

    ``interactions`` yields ``(user_id, paper_key, type, occurred_at)``, or is :class:`InteractionColumns` (the
    papers given as rows of ``papers``); rows about papers not in ``papers`` are dropped (and counted).
    ``TrainResult.seconds`` holds the seconds of each stage.
    """
    cfg = parse_config(config)
    if len(papers) == 0:
        raise ValueError("nothing to train on: no papers in the catalog")
    keys = [p.key for p in papers]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate paper keys in the catalog")
    clock = StageClock()
    stages = tqdm(total=5, desc="train", disable=not progress, unit="stage")
    try:
        stages.set_postfix_str("interactions")
        with clock.stage("matrix"):
            data = _interaction_data(interactions, keys, cfg, now_seconds(now))
        stages.update(1)

        stages.set_postfix_str("text")
        with clock.stage("text"):
            text = TextModel(**cfg.text.to_dict()).fit([p.text for p in papers])
        stages.update(1)

        probe = _holdout_metrics(papers, data, text, cfg, stages, progress, clock)
        metrics = probe.metrics

        stages.set_postfix_str("final fit")
        model = HybridRecommender(config=probe.config).fit(
            papers,
            data,
            text_model=text,
            show_progress=progress,
            als_options={"warm_start": probe.als, "iterations": REFIT_ITERATIONS} if probe.als is not None else None,
            chosen_blends=probe.choice,
        )
        clock.add_all(model.fit_seconds_)
        stages.update(1)
    finally:
        stages.close()
    counts = _counts(papers, data, text)
    if model.blend_choice_ is not None:  # stored in the version's manifest with the metrics
        metrics["blend_choice"] = model.blend_choice_
    log.info("trained hybrid model: %s; metrics %s", counts, metrics)
    return TrainResult(
        model=model, metrics=metrics, counts=counts, config=model.config_.to_dict(), seconds=clock.rounded()
    )


def _counts(papers: Sequence[PaperDoc], data: InteractionData, text: TextModel) -> dict[str, int]:
    return {
        "papers": len(papers),
        "users": len(data.users),
        "interactions": data.n_rows_in,
        "interactions_unknown_paper": data.n_rows_unknown_item,
        "positive_pairs": int(data.matrix.nnz),
        "saved_pairs": int(data.saved.nnz),
        "dismissed_pairs": int(data.dismissed.nnz),
        "vocabulary": len(text.vectorizer_.vocabulary_),
    }


def _interaction_data(
    interactions: Iterable[Any] | InteractionColumns, keys: list[str], cfg: Config, now_s: float
) -> InteractionData:
    """The confidence matrix of the log ``interactions`` over the catalog ``keys``."""
    as_indices = isinstance(interactions, InteractionColumns)
    if as_indices:
        users, items, types, times = interactions.users, interactions.items, interactions.types, interactions.times
    else:
        rows = list(interactions)
        if rows:
            try:
                users, items, types, times = (np.asarray(col, dtype=object) for col in zip(*rows, strict=True))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"interactions must be (user_id, paper_key, type, occurred_at) tuples: {exc}") from exc
        else:
            users = items = types = times = np.zeros(0, dtype=object)
    if not len(users):
        # A fresh catalog: a text-only model serves "similar to what you saved" from the first save on.
        log.warning("no interactions yet: training the text model only")
    data = build_matrix(
        users,
        items,
        types,
        times,
        weights=cfg.events.weights,
        half_life_days=cfg.events.half_life_days,
        now=now_s,
        item_keys=keys,
        items_are_indices=as_indices,
    )
    if len(users) and data.matrix.nnz == 0:
        raise ValueError(
            f"nothing to train on: no positive interactions among {len(users)} rows "
            f"({data.n_rows_unknown_item} about papers not in the catalog)"
        )
    return data


@dataclass
class _Probe:
    """What the holdout model gives the final fit."""

    metrics: dict[str, Any]
    als: ALSRecommender | None  # its ALS, which the final fit continues (None without a holdout)
    config: Config  # the config with the blends chosen on it (as given when it made no choice)
    choice: dict[str, Any] | None  # the record of that choice (None: the final fit chooses on its own)


def _holdout_metrics(
    papers: Sequence[PaperDoc],
    data: InteractionData,
    text: TextModel,
    cfg: Config,
    stages: Any,
    progress: bool,
    clock: StageClock,
) -> _Probe:
    """Fit on all but a holdout, choose the blends on it, measure the held-out items with them (two stages).

    One model serves the blend choice and the holdout figures, so a retrain fits ALS once from scratch: the
    views of the choice come from at most half the users it can carve from, and the figures from the others."""
    stages.set_postfix_str("holdout fit")
    ev = cfg.evaluation
    with clock.stage("holdout_split"):
        train_m, test_m, views = _holdout_and_views(data.matrix, cfg)
    metrics: dict[str, Any] = {"holdout_fraction": float(ev.holdout_fraction)}
    if not (test_m.nnz and train_m.nnz):
        log.warning("no user has >= 2 positive items: skipping the holdout evaluation")
        stages.update(2)
        return _Probe(metrics, None, cfg, None)
    held = InteractionData(
        matrix=train_m,
        saved=_mask(data.saved, train_m),
        dismissed=data.dismissed,
        users=data.users,
        items=data.items,
    )
    # the probe ranks catalog papers only: a cold-start scorer would cost its fit and change nothing. It finds
    # its candidates exactly: building an index costs more than the evaluation it would speed up, and changes
    # its figures by at most 1e-4 (docs/performance.md)
    probe_cfg = dataclasses.replace(
        cfg,
        cold_start=dataclasses.replace(cfg.cold_start, enabled=False),
        blend_choice=dataclasses.replace(cfg.blend_choice, enabled=False),
        candidates=dataclasses.replace(cfg.candidates, ann_min_items=NO_INDEX),
    )
    probe = HybridRecommender(config=probe_cfg).fit(
        papers, held, text_model=text, show_progress=progress, als_options={"keep_state": True}
    )
    clock.add_all({k: v for k, v in probe.fit_seconds_.items() if k != "cold_start"}, prefix="holdout_")
    chosen, choice = cfg, None
    if views is not None:
        with clock.stage("blend_choice"):
            chosen, choice = blend_choice.choose_on(probe, views, train_m, cfg)
        # the figures below are those of the blends the final model serves
        probe.config_ = dataclasses.replace(
            probe.config_, blend=chosen.blend, blend_long_history=chosen.blend_long_history
        )
    stages.update(1)
    stages.set_postfix_str("evaluate")
    with clock.stage("holdout_evaluate"):
        metrics.update(
            evaluate_holdout(probe, held, test_m, k=int(ev.k), max_users=ev.max_users, random_state=ev.random_state)
        )
    stages.update(1)
    return _Probe(metrics, probe.als_, chosen, choice)


def _holdout_and_views(
    matrix: sp.csr_matrix, cfg: Config
) -> tuple[sp.csr_matrix, sp.csr_matrix, dict[str, blend_choice.View] | None]:
    """The holdout model's training matrix, the held-out pairs to measure, and the views of the blend choice.

    With the choice on, the views are carved from at most half the users with enough papers (their least read
    papers held out) and those users are not measured; every other user loses a random ``holdout_fraction``
    of their papers. With too few users for both, no views: the final fit then chooses on a model of its own.
    """
    ev = cfg.evaluation
    views = None
    base = matrix
    if cfg.blend_choice.enabled:
        need = blend_choice.carve_min_input(cfg)
        eligible = int((np.diff(matrix.indptr) > need).sum())
        max_users = min(int(cfg.blend_choice.max_users), eligible // 2)
        carved, views = blend_choice.carve(
            matrix, max_users=max_users, min_input=need, seed=cfg.blend_choice.random_state
        )
        if blend_choice.too_few_users(views, cfg) is None:
            base = carved
        else:
            views = None
    train_m, test_m = holdout_split(base, float(ev.holdout_fraction), random_state=ev.random_state)
    if views is not None:  # the carved users keep every pair the carving left them, and are not measured
        is_carved = (np.diff(matrix.indptr) != np.diff(base.indptr)).astype(np.float32)
        back = sp.csr_matrix(sp.diags(is_carved) @ test_m)
        train_m = sp.csr_matrix(train_m + back)
        test_m = sp.csr_matrix(test_m - back)
        test_m.eliminate_zeros()
    return train_m, test_m, views


def _mask(matrix: sp.csr_matrix, keep: sp.csr_matrix) -> sp.csr_matrix:
    """Entries of ``matrix`` whose (row, col) is also present in ``keep``."""
    pattern = keep.copy()
    pattern.data[:] = 1.0
    return sp.csr_matrix(matrix.multiply(pattern))
