#!/usr/bin/env python
"""How much of the catalog the text inverted index reads for real user profiles (citeulike-a, P=10 training
rows): the share of the catalog's non-zeros in the profile's postings, the share of papers it touches, the
time of the plain mat-vec against the inverted product. Prints medians.

    python scripts/bench_text_postings.py --data <citeulike-a dir> --users 200
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recommender.config import default_config  # noqa: E402
from recommender.models import TextModel  # noqa: E402
from recommender.offline.datasets import load_citeulike  # noqa: E402
from recommender.offline.methods import library_papers  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--users", type=int, default=200)
    args = ap.parse_args(argv)
    data = load_citeulike(args.data, 10)
    text = TextModel(**default_config()["text"]).fit([p.text for p in library_papers(data)])
    vectors = text.item_vectors_
    terms = vectors.T.tocsr()
    df = np.diff(terms.indptr)
    share, touched, plain_ms, inverted_ms = [], [], [], []
    rng = np.random.default_rng(0)
    for u in rng.choice(data.train.shape[0], args.users, replace=False):
        items = data.train[u].indices
        if not len(items):
            continue
        profile = text.profile(vectors[items], np.ones(len(items)))
        t0 = time.perf_counter()
        text.catalog_scores(profile)
        t1 = time.perf_counter()
        row = profile @ terms
        t2 = time.perf_counter()
        plain_ms.append(1000 * (t1 - t0))
        inverted_ms.append(1000 * (t2 - t1))
        share.append(df[profile.indices].sum() / vectors.nnz)
        touched.append(row.nnz / vectors.shape[0])
    print(
        f"papers {vectors.shape[0]}, terms {vectors.shape[1]}, non-zeros per paper {vectors.nnz / vectors.shape[0]:.1f}"
    )
    print(f"median share of non-zeros read {np.median(share):.3f}, of papers touched {np.median(touched):.3f}")
    print(f"median ms: plain mat-vec {np.median(plain_ms):.2f}, inverted {np.median(inverted_ms):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
