"""trending_live, trending_live_state and trending_last_reads: trending totals kept live per window

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 15:00:00

- trending_live_state: per window (7d, 30d) the cursor (the live totals hold the counted events at or after it)
  and the epoch (a UTC date) their decay sums are relative to.
- trending_live: per (window, paper) the sum of weight * 2 ** (days since the epoch / half-life) of its counted
  events at or after the cursor, and how many users have one; indexed by (window, score) so a list reads the
  best rows only.
- trending_last_reads: per (paper, user) the latest counted event, while it may be inside a window.
Filled from the log with the statements server/services/trending_live.py gives (rebuild_sql), the same ones a
bulk load uses: a later change of those tables comes with a migration of its own.
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from server.services.trending_live import rebuild_sql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

PAPER_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # as papers.id


def upgrade() -> None:
    op.create_table(
        "trending_live_state",
        sa.Column("span", sa.String(length=8), nullable=False),
        sa.Column("cursor", sa.DateTime(timezone=True), nullable=False),
        sa.Column("epoch", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("span"),
    )
    op.create_table(
        "trending_live",
        sa.Column("span", sa.String(length=8), nullable=False),
        sa.Column("paper_id", PAPER_ID, nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("readers", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("span", "paper_id"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_trending_live_score", "trending_live", ["span", "score"])
    op.create_table(
        "trending_last_reads",
        sa.Column("paper_id", PAPER_ID, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("paper_id", "user_id"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_trending_last_reads_time", "trending_last_reads", ["last_at"])
    op.create_index("ix_trending_last_reads_user", "trending_last_reads", ["user_id"])
    for statement in rebuild_sql(op.get_bind().dialect.name, datetime.now(UTC)):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("trending_last_reads")
    op.drop_table("trending_live")
    op.drop_table("trending_live_state")
