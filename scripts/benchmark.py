"""Request-path and retrain benchmark on a synthetic catalog; prints JSON figures (medians and p90s).

    .venv/bin/python scripts/benchmark.py --papers 100000 --users 10000 --interactions 1000000 --out var/bench.json
    .venv/bin/python scripts/benchmark.py --references 0     # a catalog without citation links

It builds a fresh database (SQLite under a temp dir by default, or --database-url for PostgreSQL), fills it in
bulk with topic-structured synthetic papers and interactions, retrains the model with the real code (``retrain``:
seconds per stage, peak RSS of the retrain process, and the bare floor: bare ALS and TF-IDF fits on the same data
timed in the same run, scripts/bench_floor.py), then
times the real Flask app in process (test client: no network, no gunicorn) on each endpoint (``requests``), then
over HTTP against gunicorn with 2 workers as `make run` serves it, at concurrency 1 and 8 (``http``: p50/p95/p99,
req/s, non-2xx per endpoint, ``trending_uncached`` with the list cache off; ``events``: batches of 100 events,
events/s and non-2xx; see scripts/bench_http.py). ``--no-http`` skips the HTTP part; ``--build-only`` stops after
the build (scripts/bench_build.py), timed under ``build``. A large build can be made once and measured later:
``--build-only --keep DIR`` leaves ``DIR/build.json`` (sizes, seed, database, build figures), and ``--from DIR``
measures that database (retrain, requests, HTTP, memory) with the sizes and seed it was built with. ``--out``
is written after the retrain and after the in-process requests too, so an interrupted run keeps those.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from bench_build import COMMON, TOPICS, build, paper_key
from sqlalchemy import insert

BUILD_RECORD = "build.json"  # what a kept build was built with, for --from
NEW_PAPERS = 2000  # imported after the retrain (the server's cap on such papers per request is 2000)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def summary(values_ms: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(statistics.median(values_ms), 2),
        "p90_ms": round(percentile(values_ms, 90), 2),
        "max_ms": round(max(values_ms), 2),
        "n": len(values_ms),
    }


def _headers(u: int) -> dict[str, str]:
    return {"Authorization": f"Bearer ps_bench_{u}"}


def _timed(users: np.ndarray, fn, pause_s: float = 0.0) -> list[float]:
    """Milliseconds of ``fn(user)`` for each user; a 4xx or 5xx stops the benchmark."""
    out = []
    for u in users:
        time.sleep(pause_s)
        started = time.perf_counter()
        response = fn(int(u))
        out.append((time.perf_counter() - started) * 1000)
        if response.status_code >= 400:
            raise RuntimeError(f"{response.status_code}: {response.get_data(as_text=True)[:300]}")
    return out


def measure(app, args: argparse.Namespace, rng: np.random.Generator) -> dict[str, dict[str, float]]:
    client = app.test_client()
    users = rng.integers(1, args.users + 1, args.requests)
    results = _measure_reads(app, client, users)

    def post_batch(u: int):
        events = [
            {
                "id": str(uuid.uuid4()),
                "type": "open",
                "occurred_at": datetime.now(UTC).isoformat(),
                "paper": {"key": f"arxiv:2000.{int(k):05d}"},
            }
            for k in rng.integers(0, min(args.papers, 99999), 50)
        ]
        return client.post("/api/v1/events", json={"events": events}, headers=_headers(u))

    results["events_batch_50"] = summary(_timed(users, post_batch))

    # Papers imported after the last retrain are candidates (by text) from the moment they exist: time the
    # recommendations again with NEW_PAPERS of them in the catalog, while their cold-start mapping runs (in the
    # background on a large catalog) and after it.
    _insert_new_papers(app, rng)
    started = time.perf_counter()

    def recommend(u: int):
        return client.get("/api/v1/recommendations?limit=20", headers=_headers(u))

    results[f"recommendations_{NEW_PAPERS}_new_papers_while_mapped"] = summary(_timed(users, recommend))
    results["new_papers_mapped"] = _wait_for_mapping(app, started)
    results[f"recommendations_{NEW_PAPERS}_new_papers"] = summary(_timed(users, recommend))
    return results


def _wait_for_mapping(app, started: float) -> dict[str, float | int]:
    """Waits for this process's background mapping of the new papers; when it ended, and how many it left."""
    from server.services.serving_model import current_model

    with app.app_context():
        loaded = current_model()
        cache = None if loaded is None else loaded.model._new_paper_cache
        if cache is not None:
            cache.wait(timeout=3600)
        return {
            "seconds_after_insert": round(time.perf_counter() - started, 2),
            "pending": 0 if cache is None else cache.pending(),
        }


def _measure_reads(app, client, users: np.ndarray) -> dict[str, dict[str, float]]:
    results = {}
    client.get("/api/v1/recommendations", headers=_headers(1))  # loads the model once
    results["recommendations"] = summary(
        _timed(users, lambda u: client.get("/api/v1/recommendations?limit=20", headers=_headers(u)))
    )
    results["trending_cached"] = summary(_timed(users, lambda u: client.get("/api/v1/trending?window=7d")))
    app.config["TRENDING_CACHE_SECONDS"] = 0
    results["trending_uncached"] = summary(_timed(users[:20], lambda u: client.get("/api/v1/trending?window=7d")))
    # a 0.2 s cache age and a request every 20 ms for 2 s: each period's first request finds the list stale
    # and is answered from it while a background thread recomputes it (production: once per cache period)
    app.config["TRENDING_CACHE_SECONDS"] = 0.2

    results["trending_stale"] = summary(_timed(users, lambda u: client.get("/api/v1/trending?window=7d"), pause_s=0.02))
    app.config["TRENDING_CACHE_SECONDS"] = 30
    results["saves_page"] = summary(_timed(users, lambda u: client.get("/api/v1/saves?limit=20", headers=_headers(u))))
    results["similar"] = summary(
        _timed(users, lambda u: client.get(f"/api/v1/papers/arxiv:2000.{u % 99999:05d}/similar"))
    )
    results["search"] = summary(_timed(users, lambda u: client.get("/api/v1/papers?q=graph+network&limit=20")))
    return results


def _insert_new_papers(app, rng: np.random.Generator) -> None:
    from server.db import db
    from server.models import Paper

    now = datetime.now(UTC)
    with app.app_context():
        db.session.execute(
            insert(Paper),
            [
                {
                    "key": f"arxiv:2999.{i:05d}",
                    "title": " ".join(rng.choice(TOPICS[i % len(TOPICS)], 5).tolist()).capitalize(),
                    "abstract": " ".join(rng.choice(TOPICS[i % len(TOPICS)] + COMMON, 60).tolist()),
                    "authors": ["A. Author"],
                    "keywords": [],
                    "source": "bench",
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(NEW_PAPERS)
            ],
        )
        db.session.commit()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--papers", type=int, default=20000)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--interactions", type=int, default=200000)
    parser.add_argument("--requests", type=int, default=100, help="timed requests per endpoint")
    parser.add_argument("--references", type=int, default=10, help="citations per paper, within its topic")
    parser.add_argument("--database-url", help="an EMPTY database to fill (default: SQLite in a temp dir)")
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="without --database-url: SQLite in a temp dir, or a fresh PostgreSQL database created (and dropped) "
        "on the server PAPERSCOUT_BENCH_POSTGRES names (default: user postgres on 127.0.0.1:5432)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="work in DIR (created; must be empty) and leave there the SQLite database (or keep the fresh PostgreSQL "
        "database), the model directory `models/` and `tokens.json`, the benchmark users' bearer tokens",
    )
    parser.add_argument("--no-http", action="store_true", help="skip the gunicorn (HTTP) measurements")
    parser.add_argument(
        "--build-only", action="store_true", help="only build the database (timed under `build`; with --keep, kept)"
    )
    parser.add_argument(
        "--from",
        dest="from_dir",
        type=Path,
        metavar="DIR",
        help="measure the database an earlier `--build-only --keep DIR` left in DIR (sizes and seed from its "
        "build.json) instead of building one",
    )
    parser.add_argument(
        "--floor-with-features", action="store_true", help="also time bare ALS with the text pseudo-users"
    )
    args = parser.parse_args(argv)
    if args.from_dir is not None:
        _take_build(parser, args)
    if args.papers > 99999 * 600 or min(args.papers, args.users, args.interactions, args.requests) < 1:
        parser.error("sizes must be positive (and papers below 60M)")
    if args.references < 0:
        parser.error("--references must be >= 0")
    if args.keep is not None and args.keep.exists() and (not args.keep.is_dir() or any(args.keep.iterdir())):
        parser.error("--keep must name a new or empty directory")
    return args


def _take_build(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """``args`` with the sizes, seed and database of the build recorded in ``--from DIR``."""
    if args.keep is not None or args.build_only or args.database_url:
        parser.error("--from measures a kept build: it takes no --keep, --build-only or --database-url")
    try:
        recorded = json.loads((args.from_dir / BUILD_RECORD).read_text())
        for name in ("papers", "users", "interactions", "references", "seed", "database_url"):
            setattr(args, name, recorded[name])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        parser.error(f"--from {args.from_dir}: no readable {BUILD_RECORD} of a kept build ({exc})")
    args.recorded_build = recorded.get("build", {})
    args.database = args.database_url.split(":", 1)[0]


def http_figures(args: argparse.Namespace, url: str, tmp: str) -> dict:
    """The same requests over HTTP against gunicorn as `make run` serves it, and the tracebacks it logged."""
    from bench_http import measure_http

    env = {"DATABASE_URL": url, "SECRET_KEY": "bench", "PAPERSCOUT_MODEL_DIR": f"{tmp}/models"}
    result = measure_http(env, Path(tmp) / "gunicorn.log", args.users, paper_key, args.papers, args.requests)
    log = (Path(tmp) / "gunicorn.cached.log").read_text() + (Path(tmp) / "gunicorn.uncached.log").read_text()
    result["server_errors_logged"] = log.count("Traceback")
    if result["server_errors_logged"]:
        sys.stderr.write(log[-6000:])
    return result


@contextlib.contextmanager
def _work_dir(keep: Path | None) -> Iterator[str]:
    """A temporary directory, or ``keep`` (created, never removed)."""
    if keep is None:
        with tempfile.TemporaryDirectory(prefix="paperscout-bench-") as tmp:
            yield tmp
        return
    keep.mkdir(parents=True, exist_ok=True)
    yield str(keep.resolve())


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from bench_retrain import fresh_postgres, retrain

    from server import create_app

    work = args.from_dir or args.keep
    with _work_dir(work) as tmp, fresh_postgres(args) as pg_url:
        url = args.database_url or pg_url or f"sqlite:///{tmp}/bench.sqlite3"
        app = create_app(
            {"DATABASE_URL": url, "SECRET_KEY": "bench", "MODEL_DIR": f"{tmp}/models", "MODEL_CHECK_SECONDS": 3600}
        )
        sizes = ("papers", "users", "interactions")
        result: dict = {
            "sizes": {**{k: getattr(args, k) for k in sizes}, "references_per_paper": args.references},
            "database": url.split(":", 1)[0],
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        }
        if args.from_dir is None:
            result["build"] = build(app, args, np.random.default_rng(args.seed))
        else:
            from server.db import upgrade_database

            started = time.perf_counter()
            upgrade_database(app)  # a build kept by older code gets what later migrations add, as `make run` does
            result["build"] = {**args.recorded_build, "kept_in": str(args.from_dir)}
            result["build"]["upgrade_s"] = round(time.perf_counter() - started, 2)
        if args.keep is not None:
            _keep_build(args, Path(tmp), url, result)
        if args.build_only:
            app.extensions["paperscout_db"].dispose()
            return _report(args, result)
        result["retrain"] = retrain(url, tmp, floor_with_features=args.floor_with_features)
        _write_out(args, result)  # what a long run measured so far survives its interruption
        # the requests' own stream, so a run --from a kept build times the same requests as a whole run
        result["requests"] = measure(app, args, np.random.default_rng([args.seed, 1]))
        _write_out(args, result)
        app.extensions["paperscout_db"].dispose()
        if not args.no_http:
            result.update(http_figures(args, url, tmp))
            from bench_memory import measure_memory

            env = {"DATABASE_URL": url, "SECRET_KEY": "bench", "PAPERSCOUT_MODEL_DIR": f"{tmp}/models"}
            result["memory"] = measure_memory(env, Path(f"{tmp}/models"), Path(tmp) / "gunicorn.log", args.users)
    return _report(args, result)


def _keep_build(args: argparse.Namespace, work: Path, url: str, result: dict) -> None:
    """The benchmark users' tokens and the record ``--from`` reads, in the kept directory."""
    tokens = [{"user_id": u, "token": f"ps_bench_{u}"} for u in range(1, args.users + 1)]
    (work / "tokens.json").write_text(json.dumps(tokens) + "\n")
    result["kept"] = {"dir": str(args.keep), "database_url": url, "model_dir": f"{work}/models"}
    sizes = {k: getattr(args, k) for k in ("papers", "users", "interactions", "references", "seed")}
    record = {**sizes, "database_url": url, "build": result["build"]}
    (work / BUILD_RECORD).write_text(json.dumps(record, indent=2) + "\n")


def _report(args: argparse.Namespace, result: dict) -> int:
    sys.stdout.write(json.dumps(result, indent=2, default=str) + "\n")
    _write_out(args, result)
    return 0


def _write_out(args: argparse.Namespace, result: dict) -> None:
    """The figures so far into ``--out`` (when given)."""
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2, default=str) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
