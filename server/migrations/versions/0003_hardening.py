"""hardening: per-user session secrets, no id reuse on SQLite, paper provenance, erasure log

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 09:00:00

- users.session_token: the value session cookies carry (flask-login's alternative id); rotating it ends them.
- SQLite tables whose rows get deleted (users, api_tokens, interactions) are rebuilt with AUTOINCREMENT, so
  the id of a deleted row is never handed out again (PostgreSQL sequences never reuse ids anyway).
- papers.provenance: "client" (from events and saves), "import" (an admin import) or "fetch" (an upstream
  fetcher). Rows that exist already are "client"; the next admin import of them makes them authoritative.
- user_erasures: the ids of erased accounts, read by serving processes to drop those users' rows at once.
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_AUTOINCREMENT_TABLES = ("users", "api_tokens", "interactions")


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("session_token", sa.String(length=64), nullable=True))
    connection = op.get_bind()
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("session_token", sa.String))
    for (user_id,) in connection.execute(sa.select(users.c.id)).all():
        connection.execute(users.update().where(users.c.id == user_id).values(session_token=secrets.token_urlsafe(32)))
    with op.batch_alter_table("users") as batch:
        batch.alter_column("session_token", existing_type=sa.String(length=64), nullable=False)
        batch.create_unique_constraint("uq_users_session_token", ["session_token"])

    with op.batch_alter_table("papers") as batch:
        batch.add_column(
            sa.Column("provenance", sa.String(length=20), nullable=False, server_default=sa.text("'client'"))
        )

    if connection.dialect.name == "sqlite":
        # server.db.upgrade_database runs SQLite migrations with foreign keys off, so rebuilding a parent
        # table does not cascade-delete its children.
        for table in _AUTOINCREMENT_TABLES:
            with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": True}):
                pass

    op.create_table(
        "user_erasures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("user_erasures") as batch:
        batch.create_index("ix_user_erasures_user_id", ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("user_erasures") as batch:
        batch.drop_index("ix_user_erasures_user_id")
    op.drop_table("user_erasures")
    with op.batch_alter_table("papers") as batch:
        batch.drop_column("provenance")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("uq_users_session_token", type_="unique")
        batch.drop_column("session_token")
