"""`flask --app server send-digests`: one digest run, for cron or a systemd timer (the scheduler runs it too)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from server.digest.run import DigestConfigError, send_digests


@click.command("send-digests")
@with_appcontext
def send_digests_command() -> None:
    """Email every user whose digest is due the papers new for them since their last one (docs/digest.md)."""
    try:
        summary = send_digests()
    except DigestConfigError as exc:
        raise click.ClickException(str(exc)) from None
    for address, reason in summary.failed:
        click.echo(f"not sent to {address}: {reason}", err=True)
    click.echo(summary.line())
    if summary.failed:
        raise click.ClickException(f"{len(summary.failed)} digests failed; the next run tries them again")
