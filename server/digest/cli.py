"""`flask --app server send-digests`: one digest run, for cron or a systemd timer (the scheduler runs it too)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from server.db import db
from server.digest.run import DigestConfigError, send_digests


@click.command("send-digests")
@with_appcontext
def send_digests_command() -> None:
    """Email every user whose digest is due the papers new for them since their last one (docs/digest.md)."""
    try:
        summary = send_digests()
    except DigestConfigError as exc:
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:  # the database failed: say so in one line, without its parameters
        db.session.rollback()
        raise click.ClickException(
            f"database error ({type(exc).__name__}); digests recorded so far stand, the others go at the next run"
        ) from None
    for address, reason in summary.failed:
        click.echo(f"not sent to {address}: {reason}", err=True)
    click.echo(summary.line())
    if summary.failed:
        raise click.ClickException(f"{len(summary.failed)} digests failed; the next run tries them again")
