"""Papers per second ingested from a recorded OAI-PMH harvest (arXivRaw), through the real `ingest oai` code.

    .venv/bin/python -m tests.ingest.benchmark_oai                      # 10,000 records on SQLite
    .venv/bin/python -m tests.ingest.benchmark_oai --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

It writes the recording first (pages of --page-size records in arXiv's ListRecords format, with resumption
tokens; deterministic text, 1-3 versions, 1-8 authors, 1-3 categories per record), serves it from a local HTTP
server, and runs one harvest into a fresh, migrated database with the polite delay off. The figure counts the
whole run: HTTP, strict XML parsing, upserts and the per-page resume state.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from server import create_app
from server.db import db, upgrade_database
from server.ingest.jobs import IngestContext, ingest_oai
from tests.ingest.upstream import Reply, Upstream, by_param

WORDS = (
    "graph neural network transformer attention diffusion protein folding sparse routing language model "
    "reinforcement policy reward convex optimization gradient quantum circuit entanglement genome expression "
    "retrieval generation benchmark robust causal inference kernel bayesian variational sampling"
).split()
CATEGORIES = ["cs.LG", "cs.CL", "cs.CV", "cs.AI", "stat.ML", "math.OC", "cs.IR", "q-bio.BM", "quant-ph"]
NAMES = ["Ada", "Alan", "Grace", "Claude", "Barbara", "Edsger", "Emmy", "John", "Karen", "Dorothy", "Tony"]
PAGE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">\n'
    "<responseDate>2024-02-01T12:00:00Z</responseDate>\n"
    '<request verb="ListRecords" metadataPrefix="arXivRaw" set="cs">https://oaipmh.arxiv.org/oai</request>\n'
    "<ListRecords>\n{records}{token}</ListRecords>\n</OAI-PMH>\n"
)


def _record(rng: random.Random, number: int) -> str:
    arxiv_id = f"2401.{number:05d}"
    first = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=number)
    versions = "".join(
        f'<version version="v{v + 1}"><date>{(first + timedelta(days=3 * v)):%a, %d %b %Y %H:%M:%S} GMT</date>'
        f"<size>{rng.randint(50, 900)}kb</size><source_type>D</source_type></version>\n"
        for v in range(rng.randint(1, 3))
    )
    authors = ", ".join(f"{rng.choice(NAMES)} {rng.choice(NAMES)}son" for _ in range(rng.randint(1, 8)))
    categories = " ".join(rng.sample(CATEGORIES, rng.randint(1, 3)))
    title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 12))).capitalize()
    abstract = " ".join(rng.choice(WORDS) for _ in range(rng.randint(80, 200))) + "."
    return (
        f"<record><header><identifier>oai:arXiv.org:{arxiv_id}</identifier><datestamp>{first:%Y-%m-%d}</datestamp>"
        f"<setSpec>cs</setSpec></header><metadata>\n"
        f'<arXivRaw xmlns="http://arxiv.org/OAI/arXivRaw/"><id>{arxiv_id}</id><submitter>Someone</submitter>\n'
        f"{versions}<title>{escape(title)}</title><authors>{escape(authors)}</authors>"
        f"<categories>{categories}</categories><license>http://creativecommons.org/licenses/by/4.0/</license>\n"
        f"<abstract>{escape(abstract)}</abstract></arXivRaw></metadata></record>\n"
    )


def write_recording(directory: Path, records: int, page_size: int, seed: int = 0) -> list[Path]:
    """Pages page-0000.xml, ...; page k's resumption token is ``tok-{k+1}`` (empty on the last page)."""
    rng = random.Random(seed)
    pages = []
    starts = range(0, records, page_size)
    for index, start in enumerate(starts):
        body = "".join(_record(rng, n) for n in range(start + 1, min(start + page_size, records) + 1))
        last = index == len(starts) - 1
        value = "" if last else f"tok-{index + 1}"
        token = f'<resumptionToken cursor="{start}" completeListSize="{records}">{value}</resumptionToken>\n'
        path = directory / f"page-{index:04d}.xml"
        path.write_text(PAGE.format(records=body, token=token), encoding="utf-8")
        pages.append(path)
    return pages


def _postgres(url: str, *statements: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for statement in statements:
            conn.execute(text(statement.format(name=parsed.database)))
    admin.dispose()


def _fresh_database(url: str | None, workdir: Path) -> str:
    if url is None:
        return f"sqlite:///{workdir / 'bench.sqlite3'}"
    _postgres(url, 'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', 'CREATE DATABASE "{name}"')
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=10000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument(
        "--database-url", help="a PostgreSQL database to create, fill and drop; default: SQLite in a temp dir"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        pages = write_recording(workdir, args.records, args.page_size)
        replies = {"": Reply(200, pages[0].read_bytes(), "text/xml")}
        replies.update({f"tok-{i}": Reply(200, p.read_bytes(), "text/xml") for i, p in enumerate(pages) if i})
        upstream = Upstream().start()
        upstream.route("/oai", by_param("resumptionToken", replies))
        url = _fresh_database(args.database_url, workdir)
        config = {"DATABASE_URL": url, "SECRET_KEY": "bench", "MODEL_DIR": str(workdir / "models")}
        app = create_app({**config, "ARXIV_OAI_URL": upstream.url("/oai"), "INGEST_DELAY_SECONDS": 0})
        upgrade_database(app)
        with app.app_context():
            ctx = IngestContext.create(db.session, app.config, progress=False)
            started = time.perf_counter()
            run = ingest_oai(ctx, "cs", date(2024, 1, 1), None)
            seconds = time.perf_counter() - started
        upstream.stop()
        app.extensions["paperscout_db"].dispose()
        if args.database_url:
            _postgres(args.database_url, 'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(
        json.dumps(
            {
                "records": args.records,
                "pages": len(pages),
                "recording_bytes": sum(len(r.body) for r in replies.values()),
                "database": make_url(url).get_backend_name(),
                "run": {"status": run.status, "fetched": run.fetched, "new": run.new, "error": run.error},
                "seconds": round(seconds, 2),
                "papers_per_second": round(run.new / seconds, 1),
                "python": platform.python_version(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
