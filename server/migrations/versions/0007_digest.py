"""digest: per-user digest email settings and one delivery record per user and period

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-16 09:00:00

- digest_settings: frequency (off, daily, weekly), local hour and IANA time zone of a user's digest email.
- digest_deliveries: one row per user and period (local day "2026-12-02" or ISO week "2026-W49"), claimed as
  "sending" before the SMTP conversation and marked "sent" or "failed" after it; the unique (user, period)
  is what keeps a re-run or a concurrent run from sending a second copy.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "digest_settings",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("frequency", sa.String(length=10), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("frequency IN ('off', 'daily', 'weekly')", name="ck_digest_settings_frequency"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "digest_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paper_keys", sa.JSON(), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('sending', 'sent', 'failed')", name="ck_digest_deliveries_status"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "period", name="uq_digest_deliveries_user_period"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("digest_deliveries") as batch:
        batch.create_index("ix_digest_deliveries_user_until", ["user_id", "until"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("digest_deliveries") as batch:
        batch.drop_index("ix_digest_deliveries_user_until")
    op.drop_table("digest_deliveries")
    op.drop_table("digest_settings")
