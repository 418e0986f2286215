"""ingest: arXiv version and Hugging Face fields on papers, ingest runs, OAI-PMH harvest state, daily upvotes

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-09 09:00:00

- papers: arxiv_version and version_date (the latest version seen and when it appeared), primary_category (the
  paper's primary arXiv category, also listed first in keywords), announced_at (first announcement in arXiv's
  daily feed), github_repo and ai_keywords (from Hugging Face daily papers). All empty for existing rows.
- ingest_runs: one row per ingest run (source, parameters, started, finished, counts, error).
- oai_harvests: per OAI-PMH set, the resumption token of an unfinished harvest and the date harvested through.
- hf_upvotes: a paper's upvotes per day on the Hugging Face daily papers page.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("papers") as batch:
        batch.add_column(sa.Column("arxiv_version", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("version_date", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("primary_category", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("announced_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("github_repo", sa.Text(), nullable=True))
        batch.add_column(sa.Column("ai_keywords", sa.JSON(), nullable=True))

    op.create_table(
        "ingest_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fetched", sa.Integer(), nullable=False),
        sa.Column("new", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("ingest_runs") as batch:
        batch.create_index("ix_ingest_runs_source_started", ["source", "started_at"], unique=False)

    op.create_table(
        "oai_harvests",
        sa.Column("set_spec", sa.String(length=100), nullable=False),
        sa.Column("metadata_prefix", sa.String(length=20), nullable=False),
        sa.Column("from_date", sa.Date(), nullable=True),
        sa.Column("until_date", sa.Date(), nullable=True),
        sa.Column("resumption_token", sa.Text(), nullable=True),
        sa.Column("cursor", sa.Integer(), nullable=True),
        sa.Column("complete_list_size", sa.Integer(), nullable=True),
        sa.Column("harvested_through", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("set_spec"),
    )

    op.create_table(
        "hf_upvotes",
        sa.Column("paper_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("upvotes", sa.Integer(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("paper_id", "day"),
    )
    with op.batch_alter_table("hf_upvotes") as batch:
        batch.create_index("ix_hf_upvotes_day", ["day"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("hf_upvotes") as batch:
        batch.drop_index("ix_hf_upvotes_day")
    op.drop_table("hf_upvotes")
    op.drop_table("oai_harvests")
    with op.batch_alter_table("ingest_runs") as batch:
        batch.drop_index("ix_ingest_runs_source_started")
    op.drop_table("ingest_runs")
    with op.batch_alter_table("papers") as batch:
        for column in ("ai_keywords", "github_repo", "announced_at", "primary_category", "version_date"):
            batch.drop_column(column)
        batch.drop_column("arxiv_version")
