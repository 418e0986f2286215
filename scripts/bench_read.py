#!/usr/bin/env python
"""Times the retrain's read stage alone: the catalog and the interaction log of a database, as `flask retrain`
reads them (``server/services/training.py``). Prints JSON.

    python scripts/bench_read.py --database-url sqlite:///DIR/bench.sqlite3
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", required=True, help="a database filled by scripts/benchmark.py --keep")
    args = ap.parse_args(argv)
    from server import create_app
    from server.db import db
    from server.services import training

    with tempfile.TemporaryDirectory() as models:
        app = create_app({"DATABASE_URL": args.database_url, "SECRET_KEY": "bench", "MODEL_DIR": models})
        with app.app_context():
            started = time.perf_counter()
            docs, ids = training._papers(db.session)
            papers_done = time.perf_counter()
            log = training._interactions(db.session, ids)
            done = time.perf_counter()
    result = {
        "papers": len(docs),
        "interactions": len(log),
        "papers_s": round(papers_done - started, 2),
        "interactions_s": round(done - papers_done, 2),
        "load": os.getloadavg(),
    }
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
