"""The HTTP half of the benchmark: gunicorn serving the app as `make run` does, and a bounded threaded client.

Each figure is measured at concurrency 1 and 8 with the same number of requests; a response outside 2xx is
counted (``non2xx``), never retried, and the server's log is kept so that a 5xx can be traced.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

# The request-size limits of `make run` (Makefile GUNICORN_LIMITS).
GUNICORN_LIMITS = ["--limit-request-line", "8190", "--limit-request-field_size", "16384"]
GUNICORN_LIMITS += ["--limit-request-fields", "200", "--timeout", "120"]  # as `make run` serves
CONCURRENCY = (1, 8)
EVENT_BATCH = 100
UNCACHED_REQUESTS = 40  # each computes the whole list: fewer of them keep a run short on a slow server

MEASURES = ("healthz", "trending", "recommendations", "papers_search", "trending_uncached", "events")

# method, path, body (or None), headers; built per request number
Request = tuple[str, str, bytes | None, dict[str, str]]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(env: dict[str, str], log_path: Path, workers: int = 2) -> Iterator[tuple[str, int, int]]:
    """Serve ``server:create_app()`` with ``workers`` sync workers until the block ends; yields (host, port,
    the master's pid)."""
    port = _free_port()
    command = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{port}"]
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [*command, *GUNICORN_LIMITS, "server:create_app()"], env={**os.environ, **env}, stdout=log, stderr=log
        )
        try:
            _wait_ready("127.0.0.1", port, proc)
            yield "127.0.0.1", port, proc.pid
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _wait_ready(host: str, port: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("gunicorn exited before serving; see its log")
        try:
            if _send(host, port, ("GET", "/api/v1/healthz", None, {}))[0] == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer /healthz within 60 s")


def workers(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (gunicorn's workers)."""
    kids = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(pid):
            kids.append(int(status.parent.name))
    return sorted(kids)


def _cpu_seconds(master: int) -> float:
    """User and system CPU time of the gunicorn master's workers so far."""
    total = 0.0
    for pid in workers(master):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # a worker that just exited
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def settle(master: int, timeout: float = 3600.0, window: float = 2.0) -> float:
    """Wait until the workers are idle (under 5 % of a core over ``window`` seconds): work a warm-up started in
    their background, such as mapping the papers added after the retrain, is done before timing. Seconds waited."""
    started = last_wall = time.monotonic()
    last_cpu = _cpu_seconds(master)
    while time.monotonic() - started < timeout:
        time.sleep(window)
        cpu, wall = _cpu_seconds(master), time.monotonic()
        if cpu - last_cpu < 0.05 * (wall - last_wall):
            break
        last_cpu, last_wall = cpu, wall
    return round(time.monotonic() - started, 1)


def _send(host: str, port: int, request: Request) -> tuple[int, float]:
    method, path, body, headers = request
    conn = http.client.HTTPConnection(host, port, timeout=60)
    started = time.perf_counter()
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status, (time.perf_counter() - started) * 1000
    except (OSError, http.client.HTTPException):  # a timeout or a dropped connection: counted, status 0
        return 0, (time.perf_counter() - started) * 1000
    finally:
        conn.close()


def run_load(host: str, port: int, make: Callable[[int], Request], n: int, concurrency: int) -> dict[str, Any]:
    """Send ``n`` requests (``make(i)``) from ``concurrency`` threads; latency percentiles, rate, non-2xx."""
    latencies: list[float] = []
    statuses: list[int] = []
    counter = iter(range(n))
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            status, ms = _send(host, port, make(i))
            with lock:
                latencies.append(ms)
                statuses.append(status)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    values = np.asarray(latencies)
    return {
        "p50_ms": round(float(np.percentile(values, 50)), 2),
        "p95_ms": round(float(np.percentile(values, 95)), 2),
        "p99_ms": round(float(np.percentile(values, 99)), 2),
        "rps": round(n / wall, 1),
        "non2xx": sum(not 200 <= s < 300 for s in statuses),  # failed connections (status 0) included
        "failed_connections": statuses.count(0),
        "wall_s": round(wall, 3),
    }


def _get(path: str, user: int | None = None) -> Request:
    headers = {"Authorization": f"Bearer ps_bench_{user}"} if user else {}
    return "GET", path, None, headers


def event_batch(user: int, paper_keys: list[str]) -> Request:
    events = [
        {
            "id": str(uuid.uuid4()),
            "type": "open",
            "occurred_at": datetime.now(UTC).isoformat(),
            "paper": {"key": key},
        }
        for key in paper_keys
    ]
    headers = {"Authorization": f"Bearer ps_bench_{user}", "Content-Type": "application/json"}
    return "POST", "/api/v1/events", json.dumps({"events": events}).encode(), headers


def measure_http(
    env: dict[str, str],
    log_path: Path,
    users: int,
    paper_key: Callable[[int], str],
    papers: int,
    requests: int,
    only: set[str] | None = None,
) -> dict[str, Any]:
    """The ``http`` and ``events`` sections of the benchmark's JSON (see the module docstring); ``only``: just
    these of its figures (``MEASURES``)."""
    wanted = set(MEASURES) if only is None else only
    rng = np.random.default_rng(1)
    endpoints: dict[str, Callable[[int], Request]] = {
        "healthz": lambda i: _get("/api/v1/healthz"),
        "trending": lambda i: _get("/api/v1/trending?window=7d"),
        "recommendations": lambda i: _get("/api/v1/recommendations?limit=20", 1 + i % users),
        "papers_search": lambda i: _get("/api/v1/papers?q=graph+network&limit=20"),
    }
    out: dict[str, Any] = {"http": {}, "events": {}}
    # Uncached trending: the app computes the list on every request (TRENDING_CACHE_SECONDS 0).
    for name, extra in (("cached", {}), ("uncached", {"PAPERSCOUT_TRENDING_CACHE_SECONDS": "0"})):
        with gunicorn({**env, **extra}, log_path.with_suffix(f".{name}.log")) as (host, port, master):
            for endpoint, make in endpoints.items():
                key = endpoint if name == "cached" else "trending_uncached"
                if (name == "uncached" and endpoint != "trending") or key not in wanted:
                    continue
                n = requests if name == "cached" else min(requests, UNCACHED_REQUESTS)
                run_load(host, port, make, min(8, requests), 2)  # warm both workers (model load, caches)
                if endpoint == "recommendations":
                    out["warm_up_settle_s"] = settle(master)
                out["http"][key] = {f"c{c}": run_load(host, port, make, n, c) for c in CONCURRENCY}
            if name == "cached" and "events" in wanted:
                for c in CONCURRENCY:
                    batches = max(8, requests // 4)
                    keys = [[paper_key(int(k)) for k in rng.integers(0, papers, EVENT_BATCH)] for _ in range(batches)]
                    figures = run_load(host, port, lambda i, keys=keys: event_batch(1 + i % users, keys[i]), batches, c)
                    out["events"][f"c{c}"] = {
                        "events_per_s": round(batches * EVENT_BATCH / figures["wall_s"], 1),
                        "non2xx": figures["non2xx"],
                        "p50_ms": figures["p50_ms"],
                    }
    return out


def main(argv: list[str] | None = None) -> int:
    """Measure the system served from a kept build (``benchmark.py --build-only --keep DIR``) from outside, after
    bringing its database to the latest migration."""
    import argparse

    from bench_build import paper_key

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("dir", type=Path, help="a kept build: build.json, bench.sqlite3 (or its database), models/")
    parser.add_argument("--requests", type=int, default=100, help="timed requests per endpoint and concurrency")
    parser.add_argument("--only", nargs="+", choices=MEASURES, help="just these figures")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args(argv)
    try:
        build = json.loads((args.dir / "build.json").read_text())
    except (OSError, ValueError) as error:
        parser.error(f"{args.dir}: no readable build.json of a kept build ({error})")
    local = args.dir / "bench.sqlite3"
    url = f"sqlite:///{local.resolve()}" if local.exists() else build["database_url"]
    env = {"DATABASE_URL": url, "SECRET_KEY": "bench", "PAPERSCOUT_MODEL_DIR": str((args.dir / "models").resolve())}
    only = set(args.only) if args.only else None
    from server import create_app
    from server.db import upgrade_database

    upgrade_database(create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"}))  # as `make run` does first
    log = args.dir / "gunicorn.log"
    result = measure_http(env, log, build["users"], paper_key, build["papers"], args.requests, only)
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
