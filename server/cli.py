"""Admin tasks as flask CLI commands (`flask --app server <command>`); scripts/ wraps them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.security import generate_password_hash

from server import importer
from server.db import db
from server.ingest.demo import DEMO_ARXIV, DEMO_CATALOG, load_recorded_arxiv
from server.ingest.lock import LockHeld, ingest_lock
from server.ingest.runs import summary_line
from server.models import Paper, User
from server.services.training import RetrainBusy, run_retrain


def init_app(app: Flask) -> None:
    from server.ingest import cli as ingest_cli

    for command in (create_user_command, import_papers_command, load_demo_command, retrain_command):
        app.cli.add_command(command)
    ingest_cli.init_app(app)


@click.command("create-user")
@with_appcontext
@click.argument("email")
@click.option("--admin", is_flag=True, help="Make the user an administrator.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user_command(email: str, admin: bool, password_stdin: bool) -> None:
    """Create a user (or promote an existing one with --admin). Prompts for the password."""
    email = email.strip().lower()
    if "@" not in email:
        raise click.BadParameter("not an email address", param_hint="EMAIL")
    if password_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        raise click.ClickException("The password must have at least 8 characters.")
    session = db.session
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, password_hash=generate_password_hash(password), is_admin=admin)
        session.add(user)
        action = "created"
    else:
        user.password_hash = generate_password_hash(password)
        user.rotate_session_token()  # a new password ends the cookie sessions signed in with the old one
        user.is_admin = user.is_admin or admin
        action = "updated"
    session.commit()
    click.echo(f"{action} {'admin' if user.is_admin else 'user'} {email} (id {user.id})")


def import_file(path: Path) -> int:
    """Import a paper file as authoritative metadata; a bad file stops the command with one line per bad
    record (server/importer.py) and stores nothing."""
    try:
        return importer.import_file(db.session, path, max_depth=current_app.config["JSON_MAX_DEPTH"])
    except importer.BadImportFile as exc:
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:  # the database itself failed: say so without its parameters
        db.session.rollback()
        message = f"{path.name}: database error ({type(exc).__name__}); nothing was imported"
        raise click.ClickException(message) from None


@click.command("import-papers")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_papers_command(path: Path) -> None:
    """Import papers from a JSON array or JSON-lines file ({key|url, title, abstract, authors, keywords,
    references, ...})."""
    count = import_file(path)
    click.echo(f"imported {count} papers from {path.name}")


@click.command("load-demo")
@with_appcontext
def load_demo_command() -> None:
    """Load the demo catalog shipped with PaperScout (idempotent): its arXiv papers through the ingestion code
    path (a recorded arXiv API response), the others (no arXiv id known) from a JSON-lines file."""
    count = import_file(DEMO_CATALOG)
    try:
        with ingest_lock(current_app._get_current_object()):  # type: ignore[attr-defined]
            run = load_recorded_arxiv(db.session, DEMO_ARXIV)
    except LockHeld as exc:
        raise click.ClickException(str(exc)) from None
    if run.status == "failed":
        raise click.ClickException(summary_line(run))
    total = db.session.scalar(select(func.count()).select_from(Paper))
    loaded = f"{count + run.fetched} papers loaded ({run.fetched} with arXiv keys)"
    click.echo(f"demo catalog: {loaded}; {total} papers in the database")


@click.command("retrain")
@with_appcontext
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON merged over the default recommender config.",
)
@click.option("--quiet", is_flag=True, help="No progress bars.")
@click.option("--wait", is_flag=True, help="If another retrain is running, wait for it instead of giving up.")
def retrain_command(config_path: Path | None, quiet: bool, wait: bool) -> None:
    """Retrain the recommender from the database and publish it; running servers pick it up."""
    try:
        summary = run_retrain(progress=not quiet, config_path=config_path, wait=wait)
    except (ValueError, RetrainBusy) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(summary, indent=2, default=str))


def retrain_main() -> None:
    """Console script entry point: `paperscout-retrain` = `flask --app server retrain`."""
    from server import create_app

    app = create_app()
    with app.app_context():
        retrain_command.main(standalone_mode=True)
