"""The data build of scripts/benchmark.py: topic-structured synthetic papers, users and interactions, written in
bulk (column by column with numpy, in chunks, so memory stays bounded whatever the sizes).

The log goes to the database through the driver (SQLite ``executemany``, PostgreSQL ``COPY``): ORM or Core
inserts of one dict per row cost more than generating the data. The saves and the trending aggregate are then
derived from the log in SQL (``trending_days.rebuild_aggregate_sql``, ``trending_live.rebuild_sql``), as
``insert_logged`` would have summed
it row by row (tests/server/test_bench_build.py compares the two).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import secrets
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

import numpy as np
from flask import Flask
from sqlalchemy import Engine

TOPICS = [
    ["graph", "network", "community", "node", "edge", "spectral", "clustering", "random", "walk", "centrality"],
    ["protein", "folding", "structure", "residue", "sequence", "docking", "enzyme", "binding", "molecular", "fold"],
    ["language", "model", "transformer", "token", "attention", "pretraining", "instruction", "alignment", "text"],
    ["reinforcement", "policy", "reward", "agent", "value", "offline", "exploration", "control", "planning"],
    ["image", "diffusion", "generative", "pixel", "segmentation", "vision", "convolution", "detection", "video"],
    ["quantum", "qubit", "entanglement", "circuit", "error", "correction", "hamiltonian", "state", "gate"],
    ["genome", "gene", "expression", "cell", "transcription", "sequencing", "regulatory", "variant", "rna"],
    ["optimization", "gradient", "convex", "stochastic", "convergence", "descent", "regularization", "bound"],
]
COMMON = ["learning", "method", "analysis", "efficient", "scalable", "robust", "novel", "approach", "data", "theory"]
KINDS, KIND_P = ["open", "click", "save"], [0.7, 0.15, 0.15]
CHUNK = 200_000  # interactions generated and written per transaction
PAPER_CHUNK = 50_000  # papers per chunk (each carries a 60-word abstract)
US_PER_DAY = 86_400_000_000

# One vocabulary: topic t's words sit at WORD_START[t]: WORD_START[t] + WORD_COUNT[t], then the common words.
VOCAB = np.array([w for words in TOPICS for w in words] + COMMON, dtype=object)
WORD_COUNT = np.array([len(words) for words in TOPICS])
WORD_START = np.concatenate([[0], np.cumsum(WORD_COUNT)[:-1]])
COMMON_START = int(WORD_COUNT.sum())


def paper_key(i: int) -> str:
    return f"arxiv:{2000 + i // 99999 % 600:04d}.{i % 99999:05d}"


def _uniform(rng: np.random.Generator, counts: np.ndarray, width: int) -> np.ndarray:
    """Per row, ``width`` integers uniform in [0, counts[row])."""
    return (rng.random((len(counts), width)) * counts[:, None]).astype(np.int64)


def _texts(rng: np.random.Generator, topic: np.ndarray) -> tuple[list[str], list[str]]:
    """Titles (4 topic words and 2 common ones) and abstracts (60 words of the topic's and the common ones)."""
    count, start = WORD_COUNT[topic], WORD_START[topic]
    title = np.concatenate(
        [_uniform(rng, count, 4) + start[:, None], COMMON_START + rng.integers(0, 10, (len(topic), 2))], axis=1
    )
    drawn = _uniform(rng, count + len(COMMON), 60)
    abstract = np.where(drawn < count[:, None], drawn + start[:, None], COMMON_START + drawn - count[:, None])
    titles = [" ".join(words).capitalize() for words in VOCAB[title].tolist()]
    return titles, [" ".join(words) for words in VOCAB[abstract].tolist()]


def _references(
    ref_rng: np.random.Generator, args: argparse.Namespace, paper_topic: np.ndarray, by_topic: list, lo: int, hi: int
) -> list[str]:
    """``args.references`` citations per paper, to papers of its own topic (a few of them cited widely), as JSON.
    Drawn from a generator of their own, so the rest of the data is the same whatever their number."""
    if not args.references:
        return ["[]"] * (hi - lo)
    topic = paper_topic[lo:hi]
    sizes = np.array([len(pool) for pool in by_topic])[topic]
    ranks = np.minimum(ref_rng.zipf(1.5, (hi - lo, args.references)) - 1, sizes[:, None] - 1)
    cited = np.empty_like(ranks)
    for t, pool in enumerate(by_topic):
        rows = topic == t
        cited[rows] = pool[ranks[rows]]
    out = []
    for i, row in enumerate(cited.tolist(), start=lo):
        out.append(json.dumps(list(dict.fromkeys(paper_key(j) for j in row if j != i))))
    return out


def _stamps(at_us: np.ndarray, suffix: str) -> list[str]:
    """Microsecond UTC times as text: 'YYYY-MM-DD HH:MM:SS.ffffff' (SQLAlchemy's SQLite storage), + ``suffix``."""
    text = np.datetime_as_string(at_us.astype("datetime64[us]"), unit="us").astype("U26")
    codes = text.view(np.uint32).reshape(len(text), 26)
    codes[:, 10] = ord(" ")
    if suffix:
        codes = np.concatenate([codes, np.tile([ord(c) for c in suffix], (len(text), 1)).astype(np.uint32)], axis=1)
    return np.ascontiguousarray(codes).view(f"U{codes.shape[1]}").ravel().tolist()


class Timer:
    """Seconds per named stage, summed over chunks."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def add(self, name: str, started: float) -> float:
        now = time.perf_counter()
        self.seconds[name] = self.seconds.get(name, 0.0) + now - started
        return now


def paper_chunks(
    args: argparse.Namespace, rng: np.random.Generator, paper_topic: np.ndarray, now_us: int, suffix: str
) -> Iterator[list[tuple]]:
    """Rows of ``papers`` (columns PAPER_COLUMNS), PAPER_CHUNK at a time."""
    ref_rng = np.random.default_rng(args.seed + 1)
    by_topic = [np.flatnonzero(paper_topic == t) for t in range(len(TOPICS))]
    created, updated = _stamps(np.array([now_us - 30 * US_PER_DAY, now_us]), suffix)
    for lo in range(0, args.papers, PAPER_CHUNK):
        hi = min(lo + PAPER_CHUNK, args.papers)
        topic = paper_topic[lo:hi]
        titles, abstracts = _texts(rng, topic)
        published = _stamps(now_us - rng.integers(0, 400, hi - lo) * US_PER_DAY, suffix)
        refs = _references(ref_rng, args, paper_topic, by_topic, lo, hi)
        keywords = [json.dumps([words[0]]) for words in TOPICS]
        yield [
            (paper_key(i), titles[k], abstracts[k], '["A. Author"]', keywords[topic[k]], refs[k], published[k])
            + ("bench", "client", created, updated)
            for k, i in enumerate(range(lo, hi))
        ]


PAPER_COLUMNS = (
    "key, title, abstract, authors, keywords, reference_keys, published_at, source, provenance, created_at, updated_at"
)
INTERACTION_COLUMNS = "user_id, paper_id, type, occurred_at, received_at, client_event_id"


def interaction_chunks(
    args: argparse.Namespace, rng: np.random.Generator, paper_topic: np.ndarray, now_us: int, suffix: str
) -> Iterator[list[tuple]]:
    """Rows of ``interactions`` (INTERACTION_COLUMNS), CHUNK at a time: mostly within each user's topic, with a
    Zipf-like popularity inside a topic, so trending and ALS see real structure. The client event id is the
    row number in hex (unique, and the same for the same seed)."""
    user_topic = rng.integers(0, len(TOPICS), args.users)
    by_topic = [np.flatnonzero(paper_topic == t) for t in range(len(TOPICS))]
    for lo in range(0, args.interactions, CHUNK):
        n = min(CHUNK, args.interactions - lo)
        users = rng.integers(0, args.users, n)
        own = rng.random(n) < 0.8
        papers = np.empty(n, dtype=np.int64)
        for t in range(len(TOPICS)):
            mask = own & (user_topic[users] == t)
            ranks = np.minimum(rng.zipf(1.3, mask.sum()) - 1, len(by_topic[t]) - 1)
            papers[mask] = by_topic[t][ranks]
        papers[~own] = rng.integers(0, args.papers, (~own).sum())
        kinds = np.array(KINDS, dtype=object)[rng.choice(len(KINDS), n, p=KIND_P)].tolist()
        at = _stamps(now_us - np.rint(rng.exponential(20, n) * US_PER_DAY).astype(np.int64), suffix)
        ids = [format(j, "x") for j in range(lo, lo + n)]  # short: the unique index on (user, id) stays small
        yield list(zip((users + 1).tolist(), (papers + 1).tolist(), kinds, at, at, ids, strict=True))


class Writer:
    """Bulk writes on a raw driver connection, one transaction per ``commit``: SQLite ``executemany`` or
    PostgreSQL (psycopg) ``COPY``. ``suffix`` completes the time stamps: SQLite keeps naive UTC text."""

    def __init__(self, engine: Engine) -> None:
        self.sqlite = engine.dialect.name == "sqlite"
        self.raw = engine.raw_connection()
        self.conn = self.raw.driver_connection
        self.suffix = "" if self.sqlite else "+00:00"
        if self.sqlite:
            # the build's own rows are consistent by construction; the checks cost a lookup per key per row.
            # Both pragmas are per connection (and foreign_keys only takes effect outside a transaction):
            # restored in close(), the database file keeps its WAL journal.
            self.restore = [
                f"PRAGMA {name}={self.conn.execute(f'PRAGMA {name}').fetchone()[0]}"
                for name in ("foreign_keys", "cache_size")
            ]
            self.conn.execute("PRAGMA foreign_keys=OFF")
            # 256 MB: the unique keys, kept while filling, and the index sorts
            self.conn.execute("PRAGMA cache_size=-262144")
            self.conn.execute("BEGIN")

    def rows(self, table: str, columns: str, rows: list[tuple]) -> None:
        if self.sqlite:
            marks = ", ".join("?" * len(columns.split(",")))
            self.conn.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)
            return
        with self.conn.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def execute(self, sql: str) -> None:
        self.conn.execute(sql)

    @contextlib.contextmanager
    def deferred(self, *tables: str) -> Iterator[None]:
        """Without the tables' secondary indexes (and their triggers on SQLite, their foreign keys on PostgreSQL,
        whose checks run per row) while the block fills them; then created again from their own recorded DDL,
        so the schema ends as the migrations left it. One sort per index (one join per foreign key) beats
        inserting into each index at random places row by row."""
        ddl = [pair for table in tables for pair in self._droppable(table)]
        for drop, _ in ddl:
            self.execute(drop)
        self.commit()
        yield
        if not self.sqlite:
            self.execute("SET maintenance_work_mem = '256MB'")  # this session's: index builds sort in memory
        for _, create in ddl:
            self.execute(create)
        for table in tables:
            if self.sqlite and table in FTS_REBUILD:
                self.execute(FTS_REBUILD[table])  # what the dropped trigger would have indexed, in one pass
        self.commit()

    def _droppable(self, table: str) -> list[tuple[str, str]]:
        """(drop, create) statements of the table's objects that ``deferred`` sets aside."""
        if self.sqlite:
            rows = self.conn.execute(
                "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger')"
                " AND sql IS NOT NULL ORDER BY type",  # indexes first when created again
                (table,),
            ).fetchall()
            return [(f'DROP {kind.upper()} "{name}"', sql) for kind, name, sql in rows]
        indexes = self.conn.execute(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
            " WHERE x.indrelid = CAST(%s AS regclass)"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)",  # keys stay
            (table,),
        ).fetchall()
        foreign = self.conn.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = CAST(%s AS regclass) AND contype = 'f'",
            (table,),
        ).fetchall()
        return [(f'DROP INDEX "{name}"', sql) for name, sql in indexes] + [
            (f'ALTER TABLE {table} DROP CONSTRAINT "{name}"', f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {sql}')
            for name, sql in foreign
        ]

    def commit(self) -> None:
        if self.sqlite:
            self.conn.execute("COMMIT")
            self.conn.execute("BEGIN")
        else:
            self.conn.commit()

    def close(self) -> None:
        if self.sqlite:
            if self.conn.in_transaction:  # an empty one after commit(), or a failed chunk's
                self.conn.execute("ROLLBACK")
            for pragma in self.restore:
                self.conn.execute(pragma)
        self.raw.close()


# The full-text tables fed by triggers on SQLite (migration 0008 fills it the same way).
FTS_REBUILD = {"papers": "INSERT INTO papers_fts(papers_fts) VALUES ('rebuild')"}


def user_rows(args: argparse.Namespace, now_us: int, suffix: str) -> tuple[list[tuple], list[tuple]]:
    """Users 1..n (``email, password_hash, session_token, is_admin, tracking_paused, created_at``), each with
    the bearer token ps_bench_<id> (``user_id, name, prefix, token_hash, created_at``)."""
    (now,) = _stamps(np.array([now_us]), suffix)
    users = [(f"u{u}@bench.invalid", "x", secrets.token_urlsafe(32), False, False, now) for u in range(args.users)]
    tokens = [
        (u, "bench", "ps_bench", hashlib.sha256(f"ps_bench_{u}".encode()).hexdigest(), now)
        for u in range(1, args.users + 1)
    ]
    return users, tokens


# The last save of each (user, paper) in log order, as the event ingest leaves it.
SAVES_SQL = (
    "INSERT INTO saves (user_id, paper_id, saved_at) SELECT user_id, paper_id, occurred_at FROM interactions"
    " WHERE id IN (SELECT max(id) FROM interactions WHERE type = 'save' GROUP BY user_id, paper_id)"
)


def build(app: Flask, args: argparse.Namespace, rng: np.random.Generator) -> dict[str, float]:
    """Fill the (migrated, empty) database; seconds per stage."""
    from server.db import db, upgrade_database

    upgrade_database(app)
    timer, started = Timer(), time.perf_counter()
    with app.app_context():
        writer = Writer(db.engine)
        try:
            _fill(writer, args, rng, timer)
        finally:
            writer.close()
    timings = {name: round(seconds, 2) for name, seconds in timer.seconds.items()}
    return timings | {"total_s": round(time.perf_counter() - started, 2)}


def _load(writer: Writer, timer: Timer, mark: float, table: str, columns: str, chunks: Iterable[list]) -> float:
    """Fill ``table`` chunk by chunk with its indexes set aside, timing generate_/insert_/index_<table>_s."""
    with writer.deferred(table):
        for rows in chunks:
            mark = timer.add(f"generate_{table}_s", mark)
            writer.rows(table, columns, rows)
            writer.commit()
            mark = timer.add(f"insert_{table}_s", mark)
    return timer.add(f"index_{table}_s", mark)


def _fill(writer: Writer, args: argparse.Namespace, rng: np.random.Generator, timer: Timer) -> None:
    from server.services import trending_live
    from server.services.trending_days import rebuild_aggregate_sql

    now_us = int(datetime.now(UTC).timestamp() * 1_000_000)
    paper_topic = rng.integers(0, len(TOPICS), args.papers)
    mark = time.perf_counter()
    chunks = paper_chunks(args, rng, paper_topic, now_us, writer.suffix)
    mark = _load(writer, timer, mark, "papers", PAPER_COLUMNS, chunks)
    users, tokens = user_rows(args, now_us, writer.suffix)
    writer.rows("users", "email, password_hash, session_token, is_admin, tracking_paused, created_at", users)
    writer.rows("api_tokens", "user_id, name, prefix, token_hash, created_at", tokens)
    writer.commit()
    mark = timer.add("insert_users_s", mark)
    chunks = interaction_chunks(args, rng, paper_topic, now_us, writer.suffix)
    mark = _load(writer, timer, mark, "interactions", INTERACTION_COLUMNS, chunks)
    with writer.deferred("saves"):
        writer.execute(SAVES_SQL)
    mark = timer.add("saves_s", mark)
    dialect = "sqlite" if writer.sqlite else "postgresql"
    with writer.deferred("trending_days"):
        for statement in rebuild_aggregate_sql(dialect):
            writer.execute(statement)
    writer.commit()
    mark = timer.add("trending_aggregate_s", mark)
    with writer.deferred("trending_live", "trending_last_reads"):
        for statement in trending_live.rebuild_sql(dialect, datetime.fromtimestamp(now_us / 1e6, UTC)):
            writer.execute(statement)
    writer.commit()
    mark = timer.add("trending_live_s", mark)
    if not writer.sqlite:  # statistics for the planner now, not whenever autovacuum gets to the new tables
        writer.execute("ANALYZE")
        writer.commit()
        timer.add("analyze_s", mark)
