#!/usr/bin/env python
"""Micro-benchmark of the request path over a large synthetic catalog: exact candidates vs the ANN index.

Builds a model from parts (no training): clustered random ALS item factors, sparse TF-IDF-like text vectors
(each paper's words from its topic plus a Zipf-distributed common vocabulary), co-occurrence neighbours within
the topic. Times, per user, the bare full-catalog operations (ALS top-n, text top-n) and a whole in-process
``recommend``, exact (full-catalog ALS and text top-n) and with the candidate indexes (ANN for ALS, the inverted
index for text); reports medians and the recall of the ANN top-n against the
exact top-n (for every ``cf_item_norm`` power the blends use). Prints JSON.

    python scripts/bench_candidates.py --items 100000 --users 100

``--model DIR`` measures a trained model instead (the current version in a model directory, e.g. the one
``benchmark.py --keep`` leaves): its own factors, text and index, and as users the saved papers of ``--users``
of its readers with at least 5 saves (their ``--history`` latest), so the recall is that of trained factors.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import normalize
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recommender.config import merge_config  # noqa: E402
from recommender.models import ALSRecommender, ItemCooccurrence, TextModel  # noqa: E402
from recommender.serving import HistoryEvent, HybridRecommender, candidate_index  # noqa: E402

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--factors", type=int, default=256)
    ap.add_argument("--topics", type=int, default=500)
    ap.add_argument("--vocabulary", type=int, default=100_000)
    ap.add_argument("--words", type=int, default=60, help="distinct terms per paper")
    ap.add_argument("--users", type=int, default=100, help="timed requests")
    ap.add_argument("--history", type=int, default=20, help="saved papers per user")
    ap.add_argument("--expansion", type=int, help="candidates.ann_expansion (default: 256, or the model's)")
    ap.add_argument("--search-factor", type=int, help="candidate_index.SEARCH_FACTOR (papers searched per wanted)")
    ap.add_argument("--norm-factor", type=int, help="candidate_index.NORM_FACTOR (longest factors per wanted)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", type=Path, metavar="DIR", help="a model directory: measure its current version")
    ap.add_argument("--out", type=Path)
    return ap.parse_args(argv)


def stored_model(args: argparse.Namespace, rng: np.random.Generator) -> tuple[HybridRecommender, list]:
    """The current version in ``args.model`` and histories of readers it was trained on (their saves)."""
    from recommender import store

    model = store.load_current(args.model)
    if args.expansion is not None:
        candidates = dataclasses.replace(model.config_.candidates, ann_expansion=args.expansion)
        model.config_ = dataclasses.replace(model.config_, candidates=candidates)
    if model.candidate_index_ is None:
        raise SystemExit(f"{args.model}: the model has no candidate index (a catalog below ann_min_items)")
    saves = model.saves_
    readers = np.flatnonzero(np.diff(saves.indptr) >= 5)
    if not len(readers):
        raise SystemExit(f"{args.model}: no reader with 5 saves or more")
    keys = model.item_ids_.keys
    users = []
    for row in rng.choice(readers, min(args.users, len(readers)), replace=False):
        items = saves.indices[saves.indptr[row] : saves.indptr[row + 1]][: args.history]
        users.append([HistoryEvent(str(keys[i]), "save", NOW - timedelta(days=int(j))) for j, i in enumerate(items)])
    return model, users


def synthetic_model(args: argparse.Namespace, rng: np.random.Generator) -> tuple[HybridRecommender, np.ndarray]:
    n, d = args.items, args.factors
    topic = rng.integers(0, args.topics, n)
    centres = rng.normal(size=(args.topics, d)).astype(np.float32)
    popularity = rng.lognormal(0.0, 0.5, n).astype(np.float32)[:, None]
    factors = (centres[topic] + 0.7 * rng.normal(size=(n, d)).astype(np.float32)) * popularity * 0.05
    cfg = merge_config({"candidates": {"ann_min_items": 0, "ann_expansion": args.expansion or 256}})
    keys = [f"p{i}" for i in range(n)]
    model = HybridRecommender.from_parts(
        config=cfg,
        text=_text_model(args, rng, topic),
        als=ALSRecommender.from_factors(factors, **cfg["als"]),
        item_keys=keys,
        item_titles=[f"Paper {i}" for i in range(n)],
        saves=sp.csr_matrix((1, n), dtype=np.float32),
        cooccurrence=_cooccurrence(args, rng, topic, cfg),
        user_keys=["u0"],
    )
    return model, topic


def _text_model(args: argparse.Namespace, rng: np.random.Generator, topic: np.ndarray) -> TextModel:
    n, v, w = args.items, args.vocabulary, args.words
    per_topic = 400  # each topic owns a block of words; the rest of the vocabulary is shared, Zipf-distributed
    own = (topic[:, None] * per_topic + rng.integers(0, per_topic, (n, w // 2))) % v
    common = np.minimum(rng.zipf(1.3, (n, w - w // 2)) - 1, v - 1)
    cols = np.concatenate([own, common], axis=1)
    rows = np.repeat(np.arange(n), w)
    vectors = sp.csr_matrix((rng.random(n * w).astype(np.float32), (rows, cols.ravel())), shape=(n, v))
    vectors.sum_duplicates()
    vocabulary = {f"w{j}": j for j in range(v)}
    return TextModel.from_arrays(vocabulary, np.ones(v), normalize(vectors).astype(np.float32), min_df=1)


def _cooccurrence(args: argparse.Namespace, rng: np.random.Generator, topic: np.ndarray, cfg: dict) -> ItemCooccurrence:
    n, k = args.items, 20
    order = np.argsort(topic, kind="stable")  # neighbours: other papers of the same topic
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    cols = order[np.clip(position[:, None] + rng.integers(-200, 200, (n, k)), 0, n - 1)]
    sim = sp.csr_matrix((rng.random(n * k).astype(np.float32), (np.repeat(np.arange(n), k), cols.ravel())), (n, n))
    sim.sum_duplicates()
    readers = rng.integers(1, 50, n).astype(np.float32)
    return ItemCooccurrence.from_similarity(sim, readers, None, **cfg["cooccurrence"])


def histories(args: argparse.Namespace, rng: np.random.Generator, topic: np.ndarray) -> list[list[HistoryEvent]]:
    by_topic = [np.flatnonzero(topic == t) for t in range(args.topics)]
    out = []
    for _ in range(args.users):
        pool = np.concatenate([by_topic[t] for t in rng.choice(args.topics, 2, replace=False)])
        items = rng.choice(pool, min(args.history, len(pool)), replace=False)
        out.append([HistoryEvent(f"p{i}", "save", NOW - timedelta(days=int(j))) for j, i in enumerate(items)])
    return out


def args_expansion(model: HybridRecommender) -> int:
    return int(model.config_.candidates.ann_expansion)


def _median_ms(values: list[float]) -> float:
    return round(1000 * statistics.median(values), 2)


def measure(model: HybridRecommender, users: list[list[HistoryEvent]]) -> dict:
    indexes = model.candidate_index_
    terms = model.text_.item_terms_
    keys = ("als_exact", "als_ann", "text_exact", "text_inverted", "exact", "ann")
    times: dict[str, list[float]] = {k: [] for k in keys}
    recall: dict[str, list[float]] = {}
    same_top20 = []
    for history in users:
        state = _state(model, history)
        signals = model.signals(state)
        for power in sorted({float(model.cf_item_norm_for(0)), float(model.cf_item_norm_for(10**6))}):
            t0 = time.perf_counter()
            exact = model.als_.top_n(signals.user_factor, 200, exclude=state.excluded_idx, item_norm_power=power)[0]
            t1 = time.perf_counter()
            approx = indexes.candidates(
                model.als_, signals.user_factor, 200, state.excluded_idx, power, expansion=args_expansion(model)
            )
            t2 = time.perf_counter()
            times["als_exact"].append(t1 - t0)
            times["als_ann"].append(t2 - t1)
            recall.setdefault(f"cf_item_norm={power:g}", []).append(len(np.intersect1d(exact, approx)) / len(exact))
        for name, inverted in (("text_exact", None), ("text_inverted", terms)):
            model.text_.item_terms_ = inverted
            t0 = time.perf_counter()
            model.text_.top_n(signals.profile, 200, exclude=state.excluded_idx)
            times[name].append(time.perf_counter() - t0)
        lists = {}
        for name, idx, inverted in (("exact", None, None), ("ann", indexes, terms)):
            model.candidate_index_, model.text_.item_terms_ = idx, inverted
            t0 = time.perf_counter()
            lists[name] = [r.key for r in model.recommend(history, n=20, now=NOW)]
            times[name].append(time.perf_counter() - t0)
        same_top20.append(len(set(lists["exact"]) & set(lists["ann"])) / max(len(lists["exact"]), 1))
    model.candidate_index_, model.text_.item_terms_ = indexes, terms
    return {
        "median_ms": {k: _median_ms(v) for k, v in times.items()},
        "ann_recall_at_200": {k: round(float(np.mean(v)), 4) for k, v in recall.items()},
        "recommend_top20_overlap": round(float(np.mean(same_top20)), 4),
    }


def _state(model: HybridRecommender, history: list[HistoryEvent]):
    from recommender.serving import user_state

    return user_state.state_from_history(model, history, {}, (), NOW)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rng = np.random.default_rng(args.seed)
    threadpool_limits(limits=1, user_api="blas")  # as a gunicorn worker serves (BLAS_THREADS=1)
    if args.search_factor is not None:
        candidate_index.SEARCH_FACTOR = args.search_factor
    if args.norm_factor is not None:
        candidate_index.NORM_FACTOR = args.norm_factor
    t0 = time.perf_counter()
    if args.model is not None:
        model, users = stored_model(args, rng)
        built = indexed = time.perf_counter()
    else:
        model, topic = synthetic_model(args, rng)
        built = time.perf_counter()
        candidate_index.prepare(model)
        indexed = time.perf_counter()
        users = histories(args, rng, topic)
    model.recommend(users[0], n=20, now=NOW)  # warm-up (imports, caches)
    result = {
        "items": len(model.item_ids_),
        "model": None if args.model is None else str(args.model),
        "factors": args.factors,
        "users": args.users,
        "ann_expansion": args_expansion(model),
        "search_factor": candidate_index.SEARCH_FACTOR,
        "norm_factor": candidate_index.NORM_FACTOR,
        "model_seconds": round(built - t0, 1),
        "index_build_seconds": round(indexed - built, 1),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load": os.getloadavg()},
        **measure(model, users),
    }
    text = json.dumps(result, indent=2)
    sys.stdout.write(text + "\n")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
