"""The evaluation runner on the published citeulike protocol (see docs/evaluation.md).

Every method ranks ALL items for each user, excluding the user's training items, and is scored with
:mod:`recommender.offline.metrics` (Recall@K averaged over users with at least one test item, NDCG@K, catalog
coverage@K). No printing: progress goes through tqdm (``progress=True``), results are returned as dicts.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from recommender.config import merge_config
from recommender.offline.datasets import CiteULikeData
from recommender.offline.methods import AslSvm, LibraryHybrid, Method, TopPop
from recommender.offline.metrics import (
    COVERAGE_K,
    NDCG_KS,
    RECALL_KS,
    covered_items,
    hits_matrix,
    ranking_metrics,
    top_k_excluding,
)

ALL_METHODS = ("toppop", "text", "als", "als_cf", "cooccurrence", "hybrid", "asl_svm")
# The published TopPop row at P=10 (Ferrari Dacrema et al., TOIS 2021): Recall@50/100/300.
PUBLISHED_TOPPOP_P10 = {"recall@50": 0.0040, "recall@100": 0.0078, "recall@300": 0.0258}
ASL_SVM_NOTE = (
    "fit_seconds = TF-IDF fit + training one LinearSVC per evaluated user; "
    "rank_ms includes that user's SVM training; its TF-IDF reads title, abstract and tags, "
    "not citations (arxiv-sanity-lite has only the text)"
)


@dataclass
class MethodResult:
    metrics: dict[str, float]
    per_user_recall: dict[int, np.ndarray] = field(default_factory=dict)
    n_users: int = 0


def evaluate_method(
    method: Method,
    data: CiteULikeData,
    users: np.ndarray,
    *,
    batch_size: int = 256,
    progress: bool = False,
    fit_seconds: float | None = None,
) -> MethodResult:
    """Rank the whole catalog for ``users`` with a fitted method and compute the protocol's metrics."""
    kmax = max(max(RECALL_KS), max(NDCG_KS), COVERAGE_K)
    per_user: dict[str, list[np.ndarray]] = {}
    covered = np.zeros(data.n_items, dtype=bool)
    rank_ms: list[float] = []
    bar = tqdm(total=len(users), desc=method.name, unit="user", disable=not progress, leave=False)
    for start in range(0, len(users), batch_size):
        ub = users[start : start + batch_size]
        t0 = time.perf_counter()
        scores = np.array(method.score(ub), dtype=np.float32, copy=True)
        top = top_k_excluding(scores, data.train[ub], kmax)
        dt = time.perf_counter() - t0
        rank_ms.extend([dt * 1000.0 / len(ub)] * len(ub))
        te = data.test[ub]
        for k, v in ranking_metrics(hits_matrix(top, te), np.diff(te.indptr)).items():
            per_user.setdefault(k, []).append(v)
        covered[covered_items(top, COVERAGE_K)] = True
        bar.update(len(ub))
    bar.close()
    means = {k: float(np.mean(np.concatenate(v))) for k, v in per_user.items()}
    metrics = {k: means[k] for k in [f"recall@{k}" for k in RECALL_KS] + [f"ndcg@{k}" for k in NDCG_KS]}
    metrics[f"coverage@{COVERAGE_K}"] = float(covered.mean())
    metrics["fit_seconds"] = float(fit_seconds or 0.0)
    metrics["rank_ms_median"] = float(np.median(rank_ms))
    metrics["rank_ms_p90"] = float(np.percentile(rank_ms, 90))
    recall_users = {k: np.concatenate(per_user[f"recall@{k}"]) for k in RECALL_KS}
    return MethodResult(metrics=metrics, per_user_recall=recall_users, n_users=len(users))


def sample_users(users: np.ndarray, n: int | None, seed: int) -> np.ndarray:
    """A seeded sample of ``n`` of ``users`` in id order (all of them when ``n`` is None or not smaller)."""
    if n is None or n >= len(users):
        return users
    return np.sort(np.random.default_rng(seed).choice(users, int(n), replace=False))


@dataclass
class _Prepared:
    """A fitted method, its fit time, the users it is measured on and what the report says about it."""

    method: Method
    fit_seconds: float
    users: np.ndarray
    notes: str = ""


class _MethodSetup:
    """Fits the method behind each name; text, als, cooccurrence and hybrid share one library fit."""

    def __init__(
        self,
        data: CiteULikeData,
        users: np.ndarray,
        *,
        config: Mapping[str, Any] | None,
        seed: int,
        svm_users: int | None,
        svm_jobs: int,
    ) -> None:
        self.data, self.users, self.config = data, users, config
        self.seed, self.svm_users, self.svm_jobs = seed, svm_users, svm_jobs
        self.library: LibraryHybrid | None = None

    def prepare(self, name: str) -> _Prepared:
        if name == "toppop":
            t0 = time.perf_counter()
            method = TopPop().fit(self.data)
            return _Prepared(method, time.perf_counter() - t0, self.users)
        if name == "als_cf":
            return self._pure_cf()
        if name == "asl_svm":
            return self._asl_svm()
        return self._library_component(name)

    def _library_component(self, name: str) -> _Prepared:
        if self.library is None:
            self.library = LibraryHybrid(self.config).fit(self.data)
        notes = "one HybridRecommender fit shared by text, als, cooccurrence and hybrid"
        cooc = self.library.model_.cooccurrence_
        if name == "cooccurrence" and (cooc is None or cooc.similarity_.nnz == 0):
            notes += "; no training row holds two items, so co-occurrence is empty: every score is 0"
        return _Prepared(self.library.method(name), self.library.fit_seconds, self.users, notes)

    def _pure_cf(self) -> _Prepared:
        # the ALS component without text side information, to compare with the published iALS row: the same
        # library code, with als.feature_weight = 0
        # no blend choice of its own: it is scored with the blends the hybrid chose (when fitted before it)
        chosen = self.library.model_.config_.to_dict() if self.library is not None else {}
        cf_config = merge_config(
            {
                "als": {"feature_weight": 0.0},
                "blend_choice": {"enabled": False},
                **{k: chosen[k] for k in ("blend", "blend_long_history") if k in chosen},
            },
            merge_config(self.config),
        )
        library = LibraryHybrid(cf_config).fit(self.data)
        notes = "ALS component with als.feature_weight = 0 (no text pseudo-users): pure collaborative filtering"
        return _Prepared(library.method("als_cf"), library.fit_seconds, self.users, notes)

    def _asl_svm(self) -> _Prepared:
        t0 = time.perf_counter()
        method = AslSvm(n_jobs=self.svm_jobs).fit(self.data)
        fit_seconds = time.perf_counter() - t0
        users = sample_users(self.users, self.svm_users, self.seed + 1)
        sampled = ""
        if len(users) < len(self.users):
            sampled = f"measured on a seeded sample of {len(users)} of the {len(self.users)} users"
        return _Prepared(method, fit_seconds, users, "; ".join(n for n in (sampled, ASL_SVM_NOTE) if n))


def run(
    data: CiteULikeData,
    *,
    methods: Sequence[str] = ALL_METHODS,
    n_users: int | None = None,
    svm_users: int | None = 600,
    seed: int = 0,
    config: Mapping[str, Any] | None = None,
    progress: bool = False,
    svm_jobs: int = 1,
) -> dict[str, Any]:
    """Evaluate ``methods`` on ``data`` (its published split). Returns the results dict (see results.json).

    ``n_users`` samples the evaluated users (seeded); ``svm_users`` further caps the users of the expensive
    ``asl_svm`` peer (its rows then say on how many users they were measured).
    """
    unknown = set(methods) - set(ALL_METHODS)
    if unknown:
        raise ValueError(f"unknown method(s) {sorted(unknown)}; choose from {ALL_METHODS}")
    users = sample_users(data.eval_users, n_users, seed)
    results: dict[str, Any] = {
        "dataset": data.name,
        "P": data.P,
        "n_users_evaluated": int(len(users)),
        "n_users_with_test_items": int(len(data.eval_users)),
        "n_items_ranked": int(data.n_items),
        "text_fields": list(data.text_fields),
        "seed": seed,
        "methods": {},
    }
    setup = _MethodSetup(data, users, config=config, seed=seed, svm_users=svm_users, svm_jobs=svm_jobs)
    per_user: dict[str, dict[int, np.ndarray]] = {}
    for name in [m for m in ALL_METHODS if m in methods]:
        prepared = setup.prepare(name)
        res = evaluate_method(
            prepared.method, data, prepared.users, progress=progress, fit_seconds=prepared.fit_seconds
        )
        if isinstance(prepared.method, AslSvm):
            # its per-user SVMs are trained at ranking time: report them as fit time
            res.metrics["fit_seconds"] = float(prepared.fit_seconds + prepared.method.svm_seconds)
        entry: dict[str, Any] = {**res.metrics, "n_users": int(len(prepared.users))}
        if prepared.notes:
            entry["notes"] = prepared.notes
        results["methods"][name] = entry
        per_user[name] = res.per_user_recall
    if setup.library is not None:
        # the config the hybrid ranked with: its blends as chosen at fit time (blend_choice), not as written
        results["config"] = setup.library.model_.config_.to_dict()
        results["blend_choice"] = setup.library.model_.blend_choice_
    results["_per_user_recall"] = per_user
    return results
