"""The bare floor of a retrain, for scripts/benchmark.py: what the two libraries it rests on take for the same data.

    DATABASE_URL=... .venv/bin/python scripts/bench_floor.py     # prints JSON

Reads the catalog and the interaction log as the retrain does (not timed), builds the confidence matrix (not
timed), then times a bare ``implicit`` ALS fit with the configured factors, iterations, regularization and
alpha on the user x paper matrix, and a bare scikit-learn ``TfidfVectorizer`` fit on the papers' texts with the
text model's n-grams, stop words, min_df and max_features. ``als_with_text_features_seconds`` (with
``--with-features``) also times the fit on the matrix the model's ALS factorises (users and the text features'
pseudo-users, see ALSRecommender), which the configured model cannot go below.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import scipy.sparse as sp


def _time_als(cfg: object, matrix: sp.spmatrix) -> float:
    """Seconds of one bare implicit ALS fit with the configured hyper-parameters."""
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=int(cfg.als.blas_threads), user_api="blas"):
        model = AlternatingLeastSquares(
            factors=int(cfg.als.factors),
            regularization=float(cfg.als.regularization),
            alpha=float(cfg.als.alpha),
            iterations=int(cfg.als.iterations),
            random_state=cfg.als.random_state,
            dtype=np.float32,
        )
        started = time.perf_counter()
        model.fit(sp.csr_matrix(matrix, dtype=np.float32), show_progress=False)
        return round(time.perf_counter() - started, 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--with-features", action="store_true", help="also time ALS with the text pseudo-users")
    args = parser.parse_args(argv)
    from sklearn.feature_extraction.text import TfidfVectorizer

    from recommender import load_config, parse_config
    from recommender.interactions import build_matrix
    from server import create_app
    from server.db import db
    from server.services.training import _interactions, _papers

    cfg = parse_config(load_config(None))
    with create_app().app_context():
        papers, ids = _papers(db.session)
        rows = _interactions(db.session, ids)
        db.session.rollback()
    data = build_matrix(
        rows.users,
        rows.items,
        rows.types,
        rows.times,
        weights=cfg.events.weights,
        half_life_days=cfg.events.half_life_days,
        item_keys=[p.key for p in papers],
        items_are_indices=True,
    )
    texts = [p.text for p in papers]
    out: dict[str, float] = {}
    started = time.perf_counter()
    tfidf = TfidfVectorizer(
        sublinear_tf=True,
        ngram_range=(1, int(cfg.text.ngram_max)),
        stop_words="english",
        min_df=cfg.text.min_df,
        max_features=cfg.text.max_features,
        dtype=np.float32,
    )
    vectors = tfidf.fit_transform(texts)
    out["tfidf_seconds"] = round(time.perf_counter() - started, 2)
    matrices = {"als_seconds": data.matrix}
    if args.with_features:
        feats = sp.csc_matrix(vectors)
        feats = sp.csr_matrix(feats[:, np.flatnonzero(np.diff(feats.indptr) >= 2)].T * cfg.als.feature_weight)
        matrices["als_with_text_features_seconds"] = sp.vstack([data.matrix, feats]).tocsr()
    for name, matrix in matrices.items():
        out[name] = _time_als(cfg, matrix)
    out["seconds"] = round(out["tfidf_seconds"] + out["als_seconds"], 2)
    sys.stdout.write(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
