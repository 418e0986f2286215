#!/usr/bin/env python
"""Times ``ItemCooccurrence.fit`` (the retrain's co-occurrence stage) on a synthetic users x items matrix with
Zipf-distributed item popularity. Prints JSON; run it at two commits to compare them.

    python scripts/bench_cooccurrence.py --users 100000 --items 1000000 --entries 5000000 --repeat 2
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recommender.models import ItemCooccurrence  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--entries", type=int, default=5_000_000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    items = rng.zipf(1.5, args.entries) % args.items
    users = rng.integers(0, args.users, args.entries)
    matrix = sp.csr_matrix((np.ones(args.entries, np.float32), (users, items)), shape=(args.users, args.items))
    matrix.sum_duplicates()
    seconds = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        fitted = ItemCooccurrence(neighbours=100, reader_weights="inverse_log").fit(matrix)
        seconds.append(round(time.perf_counter() - started, 2))
    result = {"entries": int(matrix.nnz), "pairs_kept": int(fitted.similarity_.nnz), "fit_s": seconds}
    sys.stdout.write(json.dumps({**result, "load": os.getloadavg()}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
