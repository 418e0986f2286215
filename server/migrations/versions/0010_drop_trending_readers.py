"""drop trending_readers: the per-day path counts a list's distinct readers in the log

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 19:00:00

trending_readers held one row per (paper, UTC day, user, event type) so that the per-day aggregate could count
distinct readers without the log. Since the live totals (0009) keep readers per paper for the packaged settings,
only the per-day fallback read it, while every event batch wrote a scattered row per event into it. The fallback
now counts the listed papers' readers in the log (server/services/trending.py). Nothing is lost: the table was
derived from the log, and the downgrade derives it again.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

PAPER_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # as papers.id
# a UTC day of occurred_at, as 0008's backfill took it (SQLite keeps naive UTC text)
UTC_DAY = {"sqlite": "substr(occurred_at, 1, 10)", "postgresql": "CAST(occurred_at AT TIME ZONE 'UTC' AS date)"}


def upgrade() -> None:
    with op.batch_alter_table("trending_readers") as batch:
        batch.drop_index("ix_trending_readers_user")
    op.drop_table("trending_readers")


def downgrade() -> None:
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
    day = UTC_DAY[op.get_bind().dialect.name]
    op.execute(
        "INSERT INTO trending_readers (paper_id, day, user_id, type, first_at, last_at)"
        " SELECT paper_id, day, user_id, type, min(occurred_at), max(occurred_at)"
        f" FROM (SELECT paper_id, {day} AS day, user_id, type, occurred_at FROM interactions) AS log"
        " GROUP BY paper_id, day, user_id, type"
    )
