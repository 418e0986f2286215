"""The personal digest email (docs/digest.md): the pages its links open, `flask --app server send-digests`, and
the scheduler's digest job (server/ingest/scheduler.py)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from server.digest import cli, views

    app.register_blueprint(views.blp)
    app.cli.add_command(cli.send_digests_command)
