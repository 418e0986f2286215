"""onboarding: the arXiv categories each user picked as topics

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 06:00:00

- user_topics: (user, arXiv category) pairs chosen at sign-up or in the settings; they feed the ranking as
  explicit interests (server/services/topics.py), never as invented interaction events.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_topics",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("chosen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "category"),
    )
    # Topic candidates are read per category: the papers of a category, newest first.
    op.create_index("ix_papers_primary_category_created", "papers", ["primary_category", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_papers_primary_category_created", table_name="papers")
    op.drop_table("user_topics")
