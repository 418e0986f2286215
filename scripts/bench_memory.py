"""The memory half of the benchmark: resident memory of each gunicorn worker once it serves the model.

RSS counts every page a worker maps, shared or not; PSS splits each shared page between the processes mapping
it and USS counts only the worker's own pages (both from ``/proc/<pid>/smaps_rollup``, Linux). The model is
measured twice: as stored now (memory-mapped ``.npy`` parts and candidate index) and rewritten in the older
single-``.npz`` layout, which every worker decompresses into its own memory.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_http import _get, gunicorn, run_load, settle, workers  # noqa: E402

from recommender import store  # noqa: E402
from recommender.store_arrays import to_npz_layout  # noqa: E402

WARM_REQUESTS = 32


def _rollup_mb(pid: int) -> dict[str, float]:
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, _, rest = line.partition(":")
        values[name] = int(rest.split()[0])  # kB
    uss = values.get("Private_Clean", 0) + values.get("Private_Dirty", 0)
    return {"rss": values["Rss"] / 1024, "pss": values["Pss"] / 1024, "uss": uss / 1024}


def _serve_and_measure(env: dict[str, str], log_path: Path, users: int) -> dict[str, Any]:
    with gunicorn(env, log_path) as (host, port, pid):
        # every worker loads the model at its first request; concurrent requests reach both of them
        run_load(host, port, lambda i: _get("/api/v1/recommendations?limit=20", 1 + i % users), WARM_REQUESTS, 4)
        settled = settle(pid)  # what the requests started in the background (mapping new papers) is done
        rollups = {w: _rollup_mb(w) for w in workers(pid)}
    return {
        "settle_s": settled,
        "workers": len(rollups),
        "rss_per_worker_mb": [round(m["rss"], 1) for m in rollups.values()],
        "pss_per_worker_mb": [round(m["pss"], 1) for m in rollups.values()],
        "uss_per_worker_mb": [round(m["uss"], 1) for m in rollups.values()],
    }


def measure_memory(env: dict[str, str], model_dir: Path, log_path: Path, users: int) -> dict[str, Any]:
    """The ``memory`` section of the benchmark's JSON: per worker RSS/PSS/USS in MB, shared layout first, then
    the same version in the ``.npz`` layout (a copy rewritten beside ``model_dir``, removed afterwards: a kept
    build keeps its model as trained)."""
    shared = _serve_and_measure(env, log_path.with_suffix(".memory-npy.log"), users)
    version = store.current_version(model_dir)
    if version is None:
        return {"error": "no model version to measure"}
    copy = model_dir.with_name(f"{model_dir.name}-npz-layout")
    try:
        shutil.copytree(model_dir, copy)
        to_npz_layout(copy / store.VERSIONS / version)
        legacy = _serve_and_measure(
            {**env, "PAPERSCOUT_MODEL_DIR": str(copy)}, log_path.with_suffix(".memory-npz.log"), users
        )
    finally:
        shutil.rmtree(copy, ignore_errors=True)
    return {**shared, "npz_layout": legacy}


def _worker(model_dir: str, requests: int, ready: Any, done: Any) -> None:
    """One worker as a gunicorn worker serves: loads the model after the fork, then answers requests."""
    from datetime import UTC, datetime

    from recommender.serving import HistoryEvent

    model = store.load_current(model_dir)
    keys = model.item_ids_.keys
    rng = np.random.default_rng(os.getpid())
    now = datetime.now(UTC)
    for _ in range(requests):
        history = [HistoryEvent(str(keys[i]), "save", now) for i in rng.integers(0, len(keys), 10)]
        model.recommend(history, n=20, now=now)
    ready.set()
    done.wait()


def measure_processes(model_dir: Path, workers: int = 2, requests: int = 20) -> dict[str, Any]:
    """Per worker RSS/PSS/USS of ``workers`` forked processes each serving the model under ``model_dir``."""
    ctx = multiprocessing.get_context("fork")
    done = ctx.Event()
    readies = [ctx.Event() for _ in range(workers)]
    procs = [ctx.Process(target=_worker, args=(str(model_dir), requests, r, done)) for r in readies]
    for proc in procs:
        proc.start()
    for ready in readies:
        ready.wait()
    figures = [_rollup_mb(proc.pid) for proc in procs]
    done.set()
    for proc in procs:
        proc.join()
    return {f"{k}_per_worker_mb": [round(f[k], 1) for f in figures] for k in ("rss", "pss", "uss")}


def main(argv: list[str] | None = None) -> int:
    """``python scripts/bench_memory.py <model dir>``: the forked-worker figures of the stored model as it is,
    then of a copy rewritten in the ``.npz`` layout. Prints JSON."""
    import argparse
    import json
    import tempfile

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--requests", type=int, default=20)
    args = ap.parse_args(argv)
    result = {"load": os.getloadavg(), "npy_layout": measure_processes(args.model_dir, args.workers, args.requests)}
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "models"
        shutil.copytree(args.model_dir, copy)
        to_npz_layout(copy / store.VERSIONS / str(store.current_version(copy)))
        result["npz_layout"] = measure_processes(copy, args.workers, args.requests)
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
