#!/usr/bin/env python
"""Warm citeulike evaluation through the request path, exact candidates vs the ANN candidate index.

``scripts/evaluate.py`` ranks the whole catalog per user in one batch (``score_matrix``), which never builds a
request's candidate set, so it cannot show what the candidate index changes. This script fits the library's
model once with the index forced on (``candidates.ann_min_items`` 0), then ranks a seeded sample of users as a
request does (``HybridRecommender.rank`` over the user's training row, training popularity as trending, no
reasons), once with the index and once exactly, and reports the protocol's recall and nDCG for both.

    python scripts/eval_candidates.py --data <citeulike-a dir> --P 10 --users 1500 --out var/eval/candidates
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recommender.offline.datasets import load_citeulike  # noqa: E402
from recommender.offline.methods import LibraryHybrid  # noqa: E402
from recommender.offline.metrics import NDCG_KS, RECALL_KS, hits_matrix, ranking_metrics  # noqa: E402
from recommender.offline.runner import sample_users  # noqa: E402


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="dataset directory (citeulike-a layout)")
    ap.add_argument("--P", type=int, default=10, choices=(1, 10))
    ap.add_argument("--users", type=int, default=1500, help="seeded sample of evaluation users")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--expansion", type=int, default=256, help="candidates.ann_expansion")
    ap.add_argument("--trending", type=int, default=1000, help="most popular training papers passed as trending")
    ap.add_argument("--out", type=Path)
    return ap.parse_args(argv)


def rank_users(lib: LibraryHybrid, users: np.ndarray, trending: dict[str, float], k: int) -> tuple[np.ndarray, list]:
    model, m, saved = lib.model_, lib.user_items_, lib.user_items_
    out = np.full((len(users), k), -1, dtype=np.int64)
    times = []
    for r, u in enumerate(users):
        lo, hi = m.indptr[u], m.indptr[u + 1]
        t0 = time.perf_counter()
        state = model.user_state_for_row(m.indices[lo:hi], m.data[lo:hi], saved.indices[lo:hi])
        recs = model.rank(state, n=k, trending=trending, window_label="", with_reasons=False)
        times.append(time.perf_counter() - t0)
        out[r, : len(recs)] = model.item_ids_.lookup(np.asarray([rec.key for rec in recs], dtype=object))
    return out, times


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    threadpool_limits(limits=1, user_api="blas")
    data = load_citeulike(args.data, args.P)
    config = {"candidates": {"ann_min_items": 0, "ann_expansion": args.expansion}}
    lib = LibraryHybrid(config).fit(data)
    model = lib.model_
    index = model.candidate_index_
    assert index is not None, "the candidate index was not built (is usearch installed?)"
    popular = np.argsort(-lib.popularity_)[: args.trending]
    trending = {str(model.item_ids_.keys[i]): float(lib.popularity_[i]) for i in popular}
    users = sample_users(data.eval_users, args.users, args.seed)
    k = max(RECALL_KS)
    result: dict = {"P": args.P, "users": len(users), "ann_expansion": args.expansion, "fit_seconds": lib.fit_seconds}
    for name, idx in (("exact", None), ("ann", index)):
        model.candidate_index_ = idx
        top, times = rank_users(lib, users, trending, k)
        te = data.test[users]
        metrics = ranking_metrics(hits_matrix(top, te), np.diff(te.indptr))
        keys = [f"recall@{c}" for c in RECALL_KS] + [f"ndcg@{c}" for c in NDCG_KS]
        result[name] = {key: round(float(np.mean(metrics[key])), 4) for key in keys}
        result[name]["rank_ms_median"] = round(1000 * float(np.median(times)), 2)
    result["max_abs_difference"] = max(abs(result["ann"][key] - result["exact"][key]) for key in keys)
    text = json.dumps(result, indent=2)
    sys.stdout.write(text + "\n")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "results.json").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
