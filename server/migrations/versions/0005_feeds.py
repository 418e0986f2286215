"""feeds: a per-user feed token for the Atom feeds

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-10 09:00:00

- feed_tokens: at most one per user; the selector (looked up) and a SHA-256 hash of the whole URL token (compared
  in constant time). Deleted with the user.
- papers: indexes on published_at and announced_at ("new for you" lists the papers of the last days by them).
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feed_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("selector", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id"),
        sa.UniqueConstraint("selector"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("papers") as batch:
        batch.create_index("ix_papers_published_at", ["published_at"], unique=False)
        batch.create_index("ix_papers_announced_at", ["announced_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("papers") as batch:
        batch.drop_index("ix_papers_announced_at")
        batch.drop_index("ix_papers_published_at")
    op.drop_table("feed_tokens")
