"""The long-running `flask --app server scheduler` process, started for real by the tests that need it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def scheduler_process(tmp_path: Path, **variables: str) -> Iterator[subprocess.Popen]:
    """The scheduler on a SQLite file of its own, with these environment variables; killed if still running."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "PAPERSCOUT_VAR": str(tmp_path),
        "PAPERSCOUT_INSTANCE": str(tmp_path / "instance"),
        **variables,
    }
    flask = str(Path(sys.executable).parent / "flask")
    process = subprocess.Popen(
        [flask, "--app", "server", "scheduler"], env=env, stderr=subprocess.PIPE, text=True, cwd=Path.cwd()
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def log_until(process: subprocess.Popen, text: str, timeout: float = 60) -> list[str]:
    """The process's log lines up to the first holding ``text`` (or its end, or the timeout)."""
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        lines.append(line)
        if text in line or not line:
            break
    return lines
