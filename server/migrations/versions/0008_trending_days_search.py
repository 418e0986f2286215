"""trending_days, trending_readers and full-text search over papers

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-17 09:00:00

- trending_days: per (paper, UTC day, event type) the number of events and, per aggregated trending window, the
  sum of 2 ** (seconds since the day began / the window's half-life): the decayed trending score of a whole day
  is that sum times 0.5 ** (the day's age at its start / half-life). Backfilled from the interaction log.
- trending_readers: one row per (paper, UTC day, user, event type) that occurred, with its first and last time
  that day: distinct readers stay exact, also over a window's partial first day and today.
- Search: on SQLite an FTS5 table papers_fts (external content: papers; kept in step by triggers), on
  PostgreSQL a generated tsvector column papers.search_vector with a GIN index; title, abstract and authors.
  Both without stemming or stop words (FTS5's unicode61, PostgreSQL's 'simple'), so both find the same papers.
  A later SQLite batch_alter_table("papers") recreates the table and drops these triggers: recreate them.
"""

from collections import defaultdict
from datetime import UTC, datetime, time

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# The half-lives the aggregate was summed with (server/services/trending_days.py AGGREGATE_HALF_LIVES then).
HALF_LIVES = {"7d": 2.0, "30d": 7.0}
PAPER_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # as papers.id

SQLITE_FTS = [
    "CREATE VIRTUAL TABLE papers_fts USING fts5(title, abstract, authors, content='papers', content_rowid='id',"
    " tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER papers_fts_insert AFTER INSERT ON papers BEGIN"
    " INSERT INTO papers_fts(rowid, title, abstract, authors) VALUES (new.id, new.title, new.abstract, new.authors);"
    " END",
    "CREATE TRIGGER papers_fts_delete AFTER DELETE ON papers BEGIN"
    " INSERT INTO papers_fts(papers_fts, rowid, title, abstract, authors)"
    " VALUES ('delete', old.id, old.title, old.abstract, old.authors); END",
    "CREATE TRIGGER papers_fts_update AFTER UPDATE OF title, abstract, authors ON papers BEGIN"
    " INSERT INTO papers_fts(papers_fts, rowid, title, abstract, authors)"
    " VALUES ('delete', old.id, old.title, old.abstract, old.authors);"
    " INSERT INTO papers_fts(rowid, title, abstract, authors) VALUES (new.id, new.title, new.abstract, new.authors);"
    " END",
    "INSERT INTO papers_fts(papers_fts) VALUES ('rebuild')",
    # ORDER BY rank: bm25 with title matches weighing most, then authors, then the abstract
    "INSERT INTO papers_fts(papers_fts, rank) VALUES ('rank', 'bm25(10.0, 2.0, 5.0)')",
]
PG_SEARCH = [
    "ALTER TABLE papers ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
    " setweight(to_tsvector('simple', coalesce(title, '')), 'A')"
    " || setweight(to_tsvector('simple', coalesce(authors::text, '')), 'B')"
    " || setweight(to_tsvector('simple', coalesce(abstract, '')), 'C')) STORED",
    "CREATE INDEX ix_papers_search_vector ON papers USING gin (search_vector)",
]


def upgrade() -> None:
    decay_columns = [sa.Column(f"decay_{w}", sa.Float(), nullable=False) for w in HALF_LIVES]
    op.create_table(
        "trending_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("paper_id", PAPER_ID, nullable=False),
        sa.Column("type", sa.String(length=10), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        *decay_columns,
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("day", "paper_id", "type"),
        sqlite_with_rowid=False,  # the primary key is the table: range scans read no second b-tree
    )
    op.create_table(
        "trending_readers",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("paper_id", PAPER_ID, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=10), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("paper_id", "day", "user_id", "type"),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("trending_readers") as batch:
        batch.create_index("ix_trending_readers_user", ["user_id"], unique=False)
    _backfill()
    statements = SQLITE_FTS if op.get_bind().dialect.name == "sqlite" else PG_SEARCH
    for statement in statements:
        op.execute(statement)


def _backfill() -> None:
    """Sum the whole interaction log into the two tables, streamed in time order."""
    bind = op.get_bind()
    days: dict[tuple, list] = defaultdict(lambda: [0] + [0.0] * len(HALF_LIVES))
    readers: dict[tuple, list] = {}
    rows = bind.execute(sa.text("SELECT paper_id, user_id, type, occurred_at FROM interactions ORDER BY id"))
    for paper_id, user_id, kind, occurred_at in rows:
        at = occurred_at if isinstance(occurred_at, datetime) else datetime.fromisoformat(str(occurred_at))
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
        day = at.date()
        offset = (at - datetime.combine(day, time(), UTC)).total_seconds() / 86400.0
        bucket = days[(day, paper_id, kind)]
        bucket[0] += 1
        for i, half_life in enumerate(HALF_LIVES.values()):
            bucket[1 + i] += 2.0 ** (offset / half_life)
        seen = readers.setdefault((day, paper_id, user_id, kind), [at, at])
        seen[0], seen[1] = min(seen[0], at), max(seen[1], at)
    day_table = sa.table("trending_days", *(sa.column(c) for c in ("day", "paper_id", "type", "events")))
    for w in HALF_LIVES:
        day_table.append_column(sa.column(f"decay_{w}"))
    rows_out = [
        {"day": day, "paper_id": paper_id, "type": kind, "events": v[0]}
        | {f"decay_{w}": v[1 + i] for i, w in enumerate(HALF_LIVES)}
        for (day, paper_id, kind), v in days.items()
    ]
    reader_table = sa.table(
        "trending_readers",
        *(sa.column(c) for c in ("day", "paper_id", "user_id", "type")),
        sa.column("first_at", sa.DateTime()),
        sa.column("last_at", sa.DateTime()),
    )
    for start in range(0, len(rows_out), 5000):
        bind.execute(day_table.insert(), rows_out[start : start + 5000])
    # SQLite keeps these columns as naive UTC text (the models' UTCDateTime)
    naive = bind.dialect.name == "sqlite"
    reader_rows = [
        {"day": d, "paper_id": p, "user_id": u, "type": t}
        | {
            "first_at": first.replace(tzinfo=None) if naive else first,
            "last_at": last.replace(tzinfo=None) if naive else last,
        }
        for (d, p, u, t), (first, last) in readers.items()
    ]
    for start in range(0, len(reader_rows), 5000):
        bind.execute(reader_table.insert(), reader_rows[start : start + 5000])


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("papers_fts_insert", "papers_fts_delete", "papers_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS papers_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_papers_search_vector")
        op.execute("ALTER TABLE papers DROP COLUMN IF EXISTS search_vector")
    with op.batch_alter_table("trending_readers") as batch:
        batch.drop_index("ix_trending_readers_user")
    op.drop_table("trending_readers")
    op.drop_table("trending_days")
