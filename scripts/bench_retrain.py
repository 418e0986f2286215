"""The retrain part of scripts/benchmark.py (the retrain and the bare floor, each in a process of its own) and its
fresh PostgreSQL database."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@contextmanager
def fresh_postgres(args: argparse.Namespace) -> Iterator[str | None]:
    """With ``--database postgresql`` (and no ``--database-url``): the URL of a new empty database, dropped on
    exit unless ``--keep`` is given; otherwise None."""
    if args.database != "postgresql" or args.database_url:
        yield None
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    server = make_url(os.environ.get("PAPERSCOUT_BENCH_POSTGRES", PG_SERVER))
    name = f"paperscout_bench_{uuid.uuid4().hex[:12]}"
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        if getattr(args, "keep", None) is None:  # with --keep the caller reads the database afterwards
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def _run_measured(command: list[str], env: dict[str, str], tmp: str, name: str) -> tuple[str, float, float]:
    """Run ``command`` as a child process; its stdout, wall seconds and peak RSS in MB (from the kernel's
    accounting of that child: ``wait4``). Exits with its stderr when it fails."""
    out, err = Path(tmp) / f"{name}.out", Path(tmp) / f"{name}.err"
    started = time.perf_counter()
    with open(out, "w") as stdout, open(err, "w") as stderr:
        proc = subprocess.Popen(command, env={**os.environ, **env}, stdout=stdout, stderr=stderr, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed:\n{err.read_text()[-2000:]}")
    return out.read_text(), seconds, usage.ru_maxrss / 1024  # Linux: kilobytes


def retrain(url: str, tmp: str, *, floor_with_features: bool = False) -> dict:
    """Retrain as an admin does, in its own process, so the timed process is a plain serving process; then the
    bare floor (scripts/bench_floor.py: bare ALS and TF-IDF fits on the same data) in another."""
    env = {"DATABASE_URL": url, "SECRET_KEY": "bench", "PAPERSCOUT_MODEL_DIR": f"{tmp}/models"}
    text, wall, rss = _run_measured(
        [sys.executable, "-m", "flask", "--app", "server", "retrain", "--quiet"], env, tmp, "retrain"
    )
    trained = json.loads(text[text.index("{") :])
    floor_cmd = [sys.executable, str(Path(__file__).with_name("bench_floor.py"))]
    floor_text, _, floor_rss = _run_measured(
        floor_cmd + (["--with-features"] if floor_with_features else []), env, tmp, "floor"
    )
    floor = json.loads(floor_text)
    return {
        "seconds": trained["seconds"],  # run_retrain itself: read, fit, evaluate, write
        "wall_seconds": round(wall, 2),  # the whole command, with interpreter start and imports
        "peak_rss_mb": round(rss, 1),
        "stages": trained["stages"],
        "bare_floor_seconds": floor["seconds"],
        "bare_floor": {**floor, "peak_rss_mb": round(floor_rss, 1)},
        "ratio_to_floor": round(trained["seconds"] / floor["seconds"], 2),
        "counts": trained["counts"],
        "metrics": trained["metrics"],
    }
